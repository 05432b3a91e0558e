"""cocotb testbenches and the Verilator/Icarus runner for the emitted Verilog."""
