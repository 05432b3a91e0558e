// Lint-only models of the vendor primitives an amaranth-boards top instantiates (I/O buffers,
// global clock buffers, reset flip-flops, startup blocks) on the Arty A7 (Xilinx 7 series),
// iCEBreaker (iCE40) and ULX3S (ECP5). Verilator has no black-box option for lint, so each
// primitive is declared here with the ports and parameters fpgac's tops use, and a minimal
// behaviour (buffer = wire, flip-flop = register) so that no net is left undriven. They are
// NEVER synthesised: the vendor tools use their own cell libraries. One is also simulated by
// a test: MULT18X18D, the reference for the wiring of fpgac.hw.mul's instance, and DP16KD,
// the same for fpgac.hw.bram's.
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

// DP16KD (sysMEM 18 Kbit block RAM), in the configuration fpgac.hw.bram instantiates and the only
// one modelled (Lattice TN1264, ECP5 memory usage guide): port A writes, port B reads, both in
// the x9 (2,048 x 9, word address AD[13:3]) or the x4 (4,096 x 4, AD[13:2]) mode; REGMODE_B
// OUTREG adds the output register after the read (data two cycles after the address). The
// contents are 1,024 rows of 18 bits, row r in INITVAL_(r / 16) bits [20 * (r % 16) +: 18];
// a word's place in its row is Yosys's layout for the mode (tests/hw/test_bram.py checks it
// against synth_ecp5). A read of the word port A writes in the same cycle gives X (the ports
// collide: not defined). CS decoding, resets, byte enables and port B writes are not modelled.
module DP16KD #(parameter DATA_WIDTH_A = 18, parameter DATA_WIDTH_B = 18,
                parameter REGMODE_A = "NOREG", parameter REGMODE_B = "NOREG",
                parameter RESETMODE = "SYNC", parameter ASYNC_RESET_RELEASE = "SYNC",
                parameter CSDECODE_A = "0b000", parameter CSDECODE_B = "0b000",
                parameter WRITEMODE_A = "NORMAL", parameter WRITEMODE_B = "NORMAL",
                parameter CLKAMUX = "CLKA", parameter CLKBMUX = "CLKB", parameter GSR = "ENABLED",
                parameter [319:0] INITVAL_00 = 320'h0,
                parameter [319:0] INITVAL_01 = 320'h0,
                parameter [319:0] INITVAL_02 = 320'h0,
                parameter [319:0] INITVAL_03 = 320'h0,
                parameter [319:0] INITVAL_04 = 320'h0,
                parameter [319:0] INITVAL_05 = 320'h0,
                parameter [319:0] INITVAL_06 = 320'h0,
                parameter [319:0] INITVAL_07 = 320'h0,
                parameter [319:0] INITVAL_08 = 320'h0,
                parameter [319:0] INITVAL_09 = 320'h0,
                parameter [319:0] INITVAL_0A = 320'h0,
                parameter [319:0] INITVAL_0B = 320'h0,
                parameter [319:0] INITVAL_0C = 320'h0,
                parameter [319:0] INITVAL_0D = 320'h0,
                parameter [319:0] INITVAL_0E = 320'h0,
                parameter [319:0] INITVAL_0F = 320'h0,
                parameter [319:0] INITVAL_10 = 320'h0,
                parameter [319:0] INITVAL_11 = 320'h0,
                parameter [319:0] INITVAL_12 = 320'h0,
                parameter [319:0] INITVAL_13 = 320'h0,
                parameter [319:0] INITVAL_14 = 320'h0,
                parameter [319:0] INITVAL_15 = 320'h0,
                parameter [319:0] INITVAL_16 = 320'h0,
                parameter [319:0] INITVAL_17 = 320'h0,
                parameter [319:0] INITVAL_18 = 320'h0,
                parameter [319:0] INITVAL_19 = 320'h0,
                parameter [319:0] INITVAL_1A = 320'h0,
                parameter [319:0] INITVAL_1B = 320'h0,
                parameter [319:0] INITVAL_1C = 320'h0,
                parameter [319:0] INITVAL_1D = 320'h0,
                parameter [319:0] INITVAL_1E = 320'h0,
                parameter [319:0] INITVAL_1F = 320'h0,
                parameter [319:0] INITVAL_20 = 320'h0,
                parameter [319:0] INITVAL_21 = 320'h0,
                parameter [319:0] INITVAL_22 = 320'h0,
                parameter [319:0] INITVAL_23 = 320'h0,
                parameter [319:0] INITVAL_24 = 320'h0,
                parameter [319:0] INITVAL_25 = 320'h0,
                parameter [319:0] INITVAL_26 = 320'h0,
                parameter [319:0] INITVAL_27 = 320'h0,
                parameter [319:0] INITVAL_28 = 320'h0,
                parameter [319:0] INITVAL_29 = 320'h0,
                parameter [319:0] INITVAL_2A = 320'h0,
                parameter [319:0] INITVAL_2B = 320'h0,
                parameter [319:0] INITVAL_2C = 320'h0,
                parameter [319:0] INITVAL_2D = 320'h0,
                parameter [319:0] INITVAL_2E = 320'h0,
                parameter [319:0] INITVAL_2F = 320'h0,
                parameter [319:0] INITVAL_30 = 320'h0,
                parameter [319:0] INITVAL_31 = 320'h0,
                parameter [319:0] INITVAL_32 = 320'h0,
                parameter [319:0] INITVAL_33 = 320'h0,
                parameter [319:0] INITVAL_34 = 320'h0,
                parameter [319:0] INITVAL_35 = 320'h0,
                parameter [319:0] INITVAL_36 = 320'h0,
                parameter [319:0] INITVAL_37 = 320'h0,
                parameter [319:0] INITVAL_38 = 320'h0,
                parameter [319:0] INITVAL_39 = 320'h0,
                parameter [319:0] INITVAL_3A = 320'h0,
                parameter [319:0] INITVAL_3B = 320'h0,
                parameter [319:0] INITVAL_3C = 320'h0,
                parameter [319:0] INITVAL_3D = 320'h0,
                parameter [319:0] INITVAL_3E = 320'h0,
                parameter [319:0] INITVAL_3F = 320'h0)
  (input
   DIA0, DIA1, DIA2, DIA3, DIA4, DIA5, DIA6, DIA7, DIA8, DIA9, DIA10, DIA11, DIA12, DIA13,
   DIA14, DIA15, DIA16, DIA17, ADA0, ADA1, ADA2, ADA3, ADA4, ADA5, ADA6, ADA7, ADA8, ADA9,
   ADA10, ADA11, ADA12, ADA13, DIB0, DIB1, DIB2, DIB3, DIB4, DIB5, DIB6, DIB7, DIB8, DIB9,
   DIB10, DIB11, DIB12, DIB13, DIB14, DIB15, DIB16, DIB17, ADB0, ADB1, ADB2, ADB3, ADB4, ADB5,
   ADB6, ADB7, ADB8, ADB9, ADB10, ADB11, ADB12, ADB13,
   CSA0, CSA1, CSA2, CSB0, CSB1, CSB2, CLKA, CLKB, CEA, CEB, OCEA, OCEB, WEA, WEB, RSTA, RSTB,
   output
   DOA0, DOA1, DOA2, DOA3, DOA4, DOA5, DOA6, DOA7, DOA8, DOA9, DOA10, DOA11, DOA12, DOA13,
   DOA14, DOA15, DOA16, DOA17, DOB0, DOB1, DOB2, DOB3, DOB4, DOB5, DOB6, DOB7, DOB8, DOB9,
   DOB10, DOB11, DOB12, DOB13, DOB14, DOB15, DOB16, DOB17);
  localparam [20479:0] INIT = {INITVAL_3F, INITVAL_3E, INITVAL_3D, INITVAL_3C, INITVAL_3B, INITVAL_3A, INITVAL_39,
    INITVAL_38, INITVAL_37, INITVAL_36, INITVAL_35, INITVAL_34, INITVAL_33, INITVAL_32,
    INITVAL_31, INITVAL_30, INITVAL_2F, INITVAL_2E, INITVAL_2D, INITVAL_2C, INITVAL_2B,
    INITVAL_2A, INITVAL_29, INITVAL_28, INITVAL_27, INITVAL_26, INITVAL_25, INITVAL_24,
    INITVAL_23, INITVAL_22, INITVAL_21, INITVAL_20, INITVAL_1F, INITVAL_1E, INITVAL_1D,
    INITVAL_1C, INITVAL_1B, INITVAL_1A, INITVAL_19, INITVAL_18, INITVAL_17, INITVAL_16,
    INITVAL_15, INITVAL_14, INITVAL_13, INITVAL_12, INITVAL_11, INITVAL_10, INITVAL_0F,
    INITVAL_0E, INITVAL_0D, INITVAL_0C, INITVAL_0B, INITVAL_0A, INITVAL_09, INITVAL_08,
    INITVAL_07, INITVAL_06, INITVAL_05, INITVAL_04, INITVAL_03, INITVAL_02, INITVAL_01,
    INITVAL_00};
  wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
  wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
  wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
  localparam SHIFT = DATA_WIDTH_A == 9 ? 3 : 2;
  reg [17:0] rows [0:1023];
  reg [8:0] latch, outreg;
  integer r;
  initial begin
    if (DATA_WIDTH_A != DATA_WIDTH_B || (DATA_WIDTH_A != 9 && DATA_WIDTH_A != 4) ||
        REGMODE_A != "NOREG" || REGMODE_B != "OUTREG")
      $fatal(1, "DP16KD model: configuration not modelled");
    for (r = 0; r < 1024; r = r + 1) rows[r] = INIT[20 * r +: 18];
  end
  // a word's row and bit offset for the mode: x9 two words per row at 0 / 9, x4 four at
  // 0 / 4 / 9 / 13
  function automatic [14:0] place(input [13:0] ad);
    reg [13:0] w;
    begin
      w = ad >> SHIFT;
      if (DATA_WIDTH_A == 9) place = {w[10:1], w[0] ? 5'd9 : 5'd0};
      else place = {w[11:2], w[1] ? (w[0] ? 5'd13 : 5'd9) : (w[0] ? 5'd4 : 5'd0)};
    end
  endfunction
  wire [14:0] pa = place(ada);
  wire [14:0] pb = place(adb);
  wire [17:0] rowb = rows[pb[14:5]];
  wire [8:0] word = DATA_WIDTH_A == 9 ? rowb[pb[4:0] +: 9] : {5'd0, rowb[pb[4:0] +: 4]};
  always @(posedge CLKA)
    if (CEA && WEA) begin
      if (DATA_WIDTH_A == 9) rows[pa[14:5]][pa[4:0] +: 9] <= dia[8:0];
      else rows[pa[14:5]][pa[4:0] +: 4] <= dia[3:0];
    end
  always @(posedge CLKB) begin
    if (CEB) latch <= (CEA && WEA && pa == pb) ? 9'bx : word;
    if (OCEB) outreg <= latch;
  end
  assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = {9'd0, outreg};
  assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = 18'd0;
endmodule
