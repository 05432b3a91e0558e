// Lint-only models of the vendor primitives an amaranth-boards top instantiates (I/O buffers,
// global clock buffers, reset flip-flops, startup blocks) on the Arty A7 (Xilinx 7 series),
// iCEBreaker (iCE40) and ULX3S (ECP5). Verilator has no black-box option for lint, so each
// primitive is declared here with the ports and parameters fpgac's tops use, and a minimal
// behaviour (buffer = wire, flip-flop = register) so that no net is left undriven. They are
// NEVER synthesised or simulated for results: the vendor tools use their own cell libraries.
// tests/boards/test_lint_top.py lints the whole emitted board top against this file.

// ---- Xilinx 7 series (Arty A7) ----
module IBUF(input I, output O);
  assign O = I;
endmodule

module OBUFT(input I, input T, output O);
  assign O = T ? 1'bz : I;
endmodule

module BUFGCTRL #(parameter SIM_DEVICE = "7SERIES")
  (input I0, input I1, input S0, input S1, input CE0, input CE1, input IGNORE0,
   input IGNORE1, output O);
  assign O = (S0 & CE0) ? I0 : I1;
endmodule

module FDPE #(parameter [0:0] INIT = 1'b1)
  (input C, input CE, input D, input PRE, output reg Q);
  initial Q = INIT;
  always @(posedge C or posedge PRE)
    if (PRE) Q <= 1'b1;
    else if (CE) Q <= D;
endmodule

module STARTUPE2(output EOS);
  assign EOS = 1'b1;
endmodule

// ---- Lattice iCE40 (iCEBreaker) ----
module SB_IO #(parameter [5:0] PIN_TYPE = 6'b000000, parameter IO_STANDARD = "SB_LVCMOS",
               parameter PULLUP = 0)
  (inout PACKAGE_PIN, input OUTPUT_ENABLE, input D_OUT_0, output D_IN_0);
  assign PACKAGE_PIN = OUTPUT_ENABLE ? D_OUT_0 : 1'bz;
  assign D_IN_0 = PACKAGE_PIN;
endmodule

module SB_GB_IO #(parameter [5:0] PIN_TYPE = 6'b000000, parameter IO_STANDARD = "SB_LVCMOS")
  (inout PACKAGE_PIN, output GLOBAL_BUFFER_OUTPUT);
  assign GLOBAL_BUFFER_OUTPUT = PACKAGE_PIN;
endmodule

// ---- Lattice ECP5 (ULX3S) ----
module IB(input I, output O);
  assign O = I;
endmodule

module OBZ(input I, input T, output O);
  assign O = T ? 1'bz : I;
endmodule

module FD1S3AX #(parameter GSR = "ENABLED")(input CK, input D, output reg Q);
  initial Q = 1'b0;
  always @(posedge CK) Q <= D;
endmodule

module SGSR(input CLK, input GSR);
endmodule

// ---- PLLs and clock buffers (boards/clock.py); the lint model passes the input clock ----
module BUFG(input I, output O);
  assign O = I;
endmodule

module MMCME2_BASE #(parameter BANDWIDTH = "OPTIMIZED", parameter CLKFBOUT_MULT_F = 5.0,
                     parameter CLKIN1_PERIOD = 0.0, parameter CLKOUT0_DIVIDE_F = 1.0,
                     parameter DIVCLK_DIVIDE = 1)
  (input CLKIN1, input CLKFBIN, input RST, input PWRDWN, output CLKOUT0, output CLKFBOUT,
   output LOCKED);
  assign CLKOUT0 = CLKIN1;
  assign CLKFBOUT = CLKIN1;
  assign LOCKED = ~RST & ~PWRDWN;
endmodule

module SB_PLL40_PAD #(parameter DIVR = 0, parameter DIVF = 0, parameter DIVQ = 0,
                      parameter FILTER_RANGE = 0, parameter FEEDBACK_PATH = "SIMPLE",
                      parameter PLLOUT_SELECT = "GENCLK")
  (input PACKAGEPIN, input RESETB, input BYPASS, output PLLOUTGLOBAL, output LOCK);
  assign PLLOUTGLOBAL = PACKAGEPIN;
  assign LOCK = RESETB & ~BYPASS;
endmodule

module EHXPLLL #(parameter CLKI_DIV = 1, parameter CLKFB_DIV = 1, parameter CLKOP_DIV = 1,
                 parameter CLKOP_CPHASE = 0, parameter CLKOP_FPHASE = 0,
                 parameter CLKOP_ENABLE = "ENABLED", parameter FEEDBK_PATH = "CLKOP",
                 parameter OUTDIVIDER_MUXA = "DIVA", parameter DPHASE_SOURCE = "DISABLED",
                 parameter INTFB_WAKE = "DISABLED", parameter PLLRST_ENA = "DISABLED",
                 parameter STDBY_ENABLE = "DISABLED")
  (input CLKI, input CLKFB, input RST, input STDBY, input ENCLKOP, input PHASESEL0,
   input PHASESEL1, input PHASEDIR, input PHASESTEP, input PHASELOADREG, input PLLWAKESYNC,
   output CLKOP, output LOCK);
  assign CLKOP = CLKI;
  assign LOCK = ~RST & ~STDBY;
endmodule
