// fpgac RTL testbench wrapper: streams images through the accelerator core at full speed.
//
// Instantiates the core module named by the `FPGAC_CORE define (ports: clk, rst,
// pixels__{payload,valid,ready}, result__{payload,valid,ready}, busy and, when `FPGAC_DEBUG is
// defined, debug_addr / debug_data). All stimulus and capture is in this module, so the
// simulator runs without Python per cycle. The clock comes from cocotb's C++ clock, or, with
// `TB_INTERNAL_CLOCK, from this module (Verilator --timing; faster, no VPI call per edge).
//
// Plusargs (all read at time 0):
//   +images=PREFIX   image chunks PREFIX.0.hex, PREFIX.1.hex, ... each CHUNK images of PIXELS
//                    bytes (one hex byte per line, raster order c, y, x)
//   +n=N             number of images to run
//   +out=FILE        results: one line per image "<index> <cycles> <result payload hex>"
//   +stall_seed=S    if given and S != 0: seeded pseudo-random pixel-valid / result-ready stalls
//   +dump=K          (with `FPGAC_DEBUG) after each of the first K images, read debug words
//   +dump_words=W    addresses 0 .. W-1 through debug_addr/debug_data and write them, one hex
//   +dump_out=FILE   word per line, to FILE (image after image)
//   +timeout=C       give up (error line in FILE, then done) if one image takes > C cycles
//
// Cycle contract: `cycles` counts from the cycle after the image's last pixel is accepted up
// to and including the first cycle result__valid is high (i.e. the difference of the two cycle
// numbers). `done` rises after the output files are closed.
`timescale 1ns/1ps
`ifndef FPGAC_CORE
`define FPGAC_CORE fpgac_core
`endif

module tb_top #(
    parameter int PIXELS = 784,
    parameter int RESULT_W = 8,
    parameter int CHUNK = 256,
    parameter int DEBUG_AW = 1,
    parameter int DEBUG_DW = 1
) (
`ifndef TB_INTERNAL_CLOCK
    input  logic clk,
`endif
    output logic done
);
`ifdef TB_INTERNAL_CLOCK
    logic clk = 1'b0;
    always #5 clk = ~clk;
`endif

    // ---------------------------------------------------------------- the core
    logic                rst = 1'b1;
    logic [7:0]          px_payload = 8'd0;
    logic                px_valid = 1'b0;
    logic                px_ready;
    logic [RESULT_W-1:0] res_payload;
    logic                res_valid;
    logic                res_ready = 1'b0;
    logic                busy;
    logic [DEBUG_AW-1:0] dbg_addr = '0;
    logic [DEBUG_DW-1:0] dbg_data;

    `FPGAC_CORE u_core (
        .clk(clk), .rst(rst),
        .pixels__payload(px_payload), .pixels__valid(px_valid), .pixels__ready(px_ready),
        .result__payload(res_payload), .result__valid(res_valid), .result__ready(res_ready),
`ifdef FPGAC_DEBUG
        .debug_addr(dbg_addr), .debug_data(dbg_data),
`endif
        .busy(busy)
    );
`ifndef FPGAC_DEBUG
    assign dbg_data = '0;
`endif

    // ---------------------------------------------------------------- run-time options
    string  img_prefix, out_path, dump_path, chunk_path;
    int     n_images = 0, stall_seed = 0, dump_images = 0, dump_words = 0;
    longint timeout = 0;
    logic [7:0] img [0:CHUNK*PIXELS-1];
    int     out_fd = 0, dump_fd = 0;

    initial begin
        if (!$value$plusargs("images=%s", img_prefix)) img_prefix = "images";
        if (!$value$plusargs("out=%s", out_path)) out_path = "results.txt";
        if (!$value$plusargs("n=%d", n_images)) n_images = 0;
        if (!$value$plusargs("stall_seed=%d", stall_seed)) stall_seed = 0;
        if (!$value$plusargs("dump=%d", dump_images)) dump_images = 0;
        if (!$value$plusargs("dump_words=%d", dump_words)) dump_words = 0;
        if (!$value$plusargs("dump_out=%s", dump_path)) dump_path = "dump.txt";
        if (!$value$plusargs("timeout=%d", timeout)) timeout = 64'd100000000;
`ifndef FPGAC_DEBUG
        dump_images = 0;
`endif
        out_fd = $fopen(out_path, "w");
        if (out_fd == 0) $fatal(1, "tb_top: cannot open %s", out_path);
        if (dump_images > 0) begin
            dump_fd = $fopen(dump_path, "w");
            if (dump_fd == 0) $fatal(1, "tb_top: cannot open %s", dump_path);
        end
    end

    // ---------------------------------------------------------------- stall pattern
    // xorshift32: cheap, seeded, identical in every simulator
    function automatic logic [31:0] xorshift(input logic [31:0] x);
        logic [31:0] y;
        y = x ^ (x << 13);
        y = y ^ (y >> 17);
        return y ^ (y << 5);
    endfunction
    logic [31:0] lfsr = 32'h1;
    logic        stalls = 1'b0;
    // ~30 % of cycles withhold pixel valid, ~30 % withhold result ready (when stalls are on)
    wire allow_valid = !stalls || (lfsr[3:0] > 4'd4);
    wire allow_ready = !stalls || (lfsr[7:4] > 4'd4);

    // ---------------------------------------------------------------- sequencer
    localparam logic [2:0] S_RESET = 3'd0, S_LOAD = 3'd1, S_FEED = 3'd2, S_WAIT = 3'd3,
                           S_DUMP = 3'd4, S_DONE = 3'd5;
    logic [2:0] state = S_RESET;
    logic   done_r = 1'b0;
    int     rst_count = 0;
    int     image = 0;          // current image index
    int     pix = 0;            // pixels of the current image accepted so far
    int     pix_n = 0;
    int     chunk_base = 0;     // index of the first image held in img[]
    longint cycle = 0;          // cycles since reset release
    longint last_px_cycle = 0;  // cycle of the last pixel transfer of the current image
    longint image_start = 0;
    logic   have_result = 1'b0; // first valid cycle seen for the current image
    longint result_cycle = 0;
    int     dstep = 0;          // debug read step
    assign done = done_r;

    always @(posedge clk) begin
        cycle <= cycle + 1;
        lfsr <= xorshift(lfsr);
        case (state)
            S_RESET: begin
                rst_count <= rst_count + 1;
                if (rst_count == 0) begin
                    lfsr <= (stall_seed != 0) ? stall_seed : 32'h1;
                    stalls <= (stall_seed != 0);
                end
                if (rst_count == 3) begin
                    rst <= 1'b0;
                    cycle <= 0;
                    state <= (n_images > 0) ? S_LOAD : S_DONE;
                end
            end
            S_LOAD: begin
                if (image % CHUNK == 0) begin
                    chunk_path = $sformatf("%s.%0d.hex", img_prefix, image / CHUNK);
                    $readmemh(chunk_path, img);
                    chunk_base = image;
                end
                pix <= 0;
                have_result <= 1'b0;
                image_start <= cycle;
                state <= S_FEED;
            end
            S_FEED: begin
                // valid is registered and held until the transfer (stream rule)
                pix_n = pix + ((px_valid && px_ready) ? 1 : 0);
                if (!(px_valid && !px_ready)) begin
                    if (pix_n < PIXELS && allow_valid) begin
                        px_valid <= 1'b1;
                        px_payload <= img[(image - chunk_base) * PIXELS + pix_n];
                    end else begin
                        px_valid <= 1'b0;
                    end
                end
                pix <= pix_n;
                if (pix_n == PIXELS) begin
                    px_valid <= 1'b0;
                    last_px_cycle <= cycle;
                    res_ready <= allow_ready;
                    state <= S_WAIT;
                end
                if (cycle - image_start > timeout) begin
                    $fwrite(out_fd, "timeout %0d feed %0d\n", image, pix);
                    state <= S_DONE;
                end
            end
            S_WAIT: begin
                if (res_valid && !have_result) begin
                    have_result <= 1'b1;
                    result_cycle <= cycle;
                end
                if (res_valid && res_ready) begin
                    res_ready <= 1'b0;
                    $fwrite(out_fd, "%0d %0d %h\n", image,
                            (have_result ? result_cycle : cycle) - last_px_cycle, res_payload);
                    dstep <= 0;
                    if (image < dump_images) begin
                        state <= S_DUMP;
                    end else if (image + 1 < n_images) begin
                        image <= image + 1;
                        state <= S_LOAD;
                    end else begin
                        state <= S_DONE;
                    end
                end else begin
                    res_ready <= allow_ready;
                end
                if (cycle - last_px_cycle > timeout) begin
                    $fwrite(out_fd, "timeout %0d wait %0d\n", image, cycle - last_px_cycle);
                    state <= S_DONE;
                end
            end
            S_DUMP: begin
                // sync read, 1-cycle latency: the address set at step e is presented during
                // step e+1 and its data is sampled here at step e+2
                if (dstep < dump_words) dbg_addr <= dstep[DEBUG_AW-1:0];
                if (dstep >= 2) $fwrite(dump_fd, "%h\n", dbg_data);
                dstep <= dstep + 1;
                if (dstep == dump_words + 1) begin
                    if (image + 1 < n_images) begin
                        image <= image + 1;
                        state <= S_LOAD;
                    end else begin
                        state <= S_DONE;
                    end
                end
            end
            S_DONE: begin
                if (!done_r) begin
                    $fwrite(out_fd, "end %0d\n", cycle);
                    $fclose(out_fd);
                    if (dump_fd != 0) $fclose(dump_fd);
                    done_r <= 1'b1;
                end
            end
            default: state <= S_DONE;
        endcase
    end
endmodule
