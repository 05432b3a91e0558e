// Lint-only models of the vendor primitives an amaranth-boards top instantiates (I/O buffers,
// global clock buffers, reset flip-flops, startup blocks) on the Arty A7 (Xilinx 7 series),
// iCEBreaker (iCE40) and ULX3S (ECP5). Verilator has no black-box option for lint, so each
// primitive is declared here with the ports and parameters fpgac's tops use, and a minimal
// behaviour (buffer = wire, flip-flop = register) so that no net is left undriven. They are
// NEVER synthesised: the vendor tools use their own cell libraries. One is also simulated by
// a test: MULT18X18D, the reference for the wiring of fpgac.hw.mul's instance.
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

// MULT18X18D (sysDSP 18 x 18 multiplier), in the configuration fpgac.hw.mul instantiates and
// the only one modelled (Lattice TN1267, ECP5 sysDSP): A and B registered on CLK0 / CE0 /
// RST0, no pipeline register, P registered on CLK0; a signed product when SIGNEDA and SIGNEDB.
// The C port, SOURCEA / SOURCEB and CLK1..3 / CE1..3 / RST1..3 are unused in it.
// tests/hw/test_mul.py also simulates the instance's wiring against this model.
module MULT18X18D #(parameter REG_INPUTA_CLK = "NONE", parameter REG_INPUTA_CE = "CE0",
                    parameter REG_INPUTA_RST = "RST0", parameter REG_INPUTB_CLK = "NONE",
                    parameter REG_INPUTB_CE = "CE0", parameter REG_INPUTB_RST = "RST0",
                    parameter REG_INPUTC_CLK = "NONE", parameter REG_PIPELINE_CLK = "NONE",
                    parameter REG_OUTPUT_CLK = "NONE", parameter REG_OUTPUT_CE = "CE0",
                    parameter REG_OUTPUT_RST = "RST0", parameter GSR = "ENABLED",
                    parameter RESETMODE = "SYNC", parameter SOURCEB_MODE = "B_SHIFT",
                    parameter MULT_BYPASS = "DISABLED")
  (input
   A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, B0, B1,
   B2, B3, B4, B5, B6, B7, B8, B9, B10, B11, B12, B13, B14, B15, B16, B17, C0, C1, C2, C3,
   C4, C5, C6, C7, C8, C9, C10, C11, C12, C13, C14, C15, C16, C17, SIGNEDA, SIGNEDB,
   SOURCEA, SOURCEB, CLK0, CLK1, CLK2, CLK3, CE0, CE1, CE2, CE3, RST0, RST1, RST2, RST3,
   output
   P0, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11, P12, P13, P14, P15, P16, P17, P18,
   P19, P20, P21, P22, P23, P24, P25, P26, P27, P28, P29, P30, P31, P32, P33, P34, P35);
  wire [17:0] a = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
  wire [17:0] b = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};
  reg [17:0] ar, br;
  reg [35:0] pr;
  assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = pr;
  initial
    if (REG_INPUTA_CLK != "CLK0" || REG_INPUTB_CLK != "CLK0" || REG_OUTPUT_CLK != "CLK0" ||
        REG_PIPELINE_CLK != "NONE" || MULT_BYPASS != "DISABLED" || RESETMODE != "SYNC")
      $fatal(1, "MULT18X18D model: configuration not modelled");
  always @(posedge CLK0)
    if (CE0) begin
      ar <= RST0 ? 18'd0 : a;
      br <= RST0 ? 18'd0 : b;
      pr <= RST0 ? 36'd0 : (SIGNEDA && SIGNEDB ? $signed(ar) * $signed(br)
                                               : {18'd0, ar} * {18'd0, br});
    end
endmodule
