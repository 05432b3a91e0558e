// fpgac RTL testbench wrapper: streams images through the accelerator core at full speed.
//
// Instantiates the core module named by the `FPGAC_CORE define (ports: clk, rst,
// pixels__{payload,valid,ready}, result__{payload,valid,ready}, busy and, when `FPGAC_DEBUG is
// defined, debug_addr / debug_data; when `FPGAC_LOADED is defined, the loaded weight store's
// weights__{payload,valid,ready}, weights_start, weights_done, weights_ok). All stimulus and
// capture is in this module, so the
// simulator runs without Python per cycle. The clock comes from cocotb's C++ clock, or, with
// `TB_INTERNAL_CLOCK, from this module (Verilator --timing; faster, no VPI call per edge).
//
// Plusargs (all read at time 0):
//   +images=PREFIX   image chunks PREFIX.0.hex, PREFIX.1.hex, ... each CHUNK images of PIXELS
//                    bytes (one hex byte per line, raster order c, y, x)
//   +n=N             number of images to run
//   +out=FILE        results: one line per image "<index> <cycles> <result payload hex>
//                    <start>", start the cycle of the image's last pixel transfer
//   +overlap=1       back to back (a core built with the plan option overlap): the next
//                    image's pixels are offered right after the previous image's last one,
//                    without waiting for its result; results are captured as they come
//                    (the core takes an image's last pixel only after the previous result)
//   +stall_seed=S    if given and S != 0: seeded pseudo-random pixel-valid / result-ready stalls
//   +dump=K          (with `FPGAC_DEBUG) after each of the first K images, read debug words
//   +dump_words=W    addresses 0 .. W-1 through debug_addr/debug_data and write them, one hex
//   +dump_out=FILE   word per line, to FILE (image after image)
//   +timeout=C       give up (error line in FILE, then done) if one image takes > C cycles
//   +weights=FILE    (with `FPGAC_LOADED) before the first image: pulse weights_start, stream
//   +wbytes=N        the first N - 2 bytes of FILE (one hex byte per line) into the weights
//                    port, compute their CRC-16/CCITT (0x1021, init 0xFFFF, MSB first) and
//                    compare it with the last 2 bytes (little endian), as the board harness
//                    does; wait up to 16 cycles for weights_done, then drive weights_ok =
//                    done && CRC match for the rest of the run and write the line
//                    "weights <done> <crc ok> <done seen early> <cycles after the last byte>"
//                    to the results file first ("done seen early": weights_done was high
//                    while bytes were still being streamed)
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

`ifdef FPGAC_LOADED
    logic [7:0]          w_payload = 8'd0;
    logic                w_valid = 1'b0;
    logic                w_ready;
    logic                w_start = 1'b0;
    logic                w_done;
    logic                w_ok = 1'b0;
`endif

    `FPGAC_CORE u_core (
        .clk(clk), .rst(rst),
        .pixels__payload(px_payload), .pixels__valid(px_valid), .pixels__ready(px_ready),
        .result__payload(res_payload), .result__valid(res_valid), .result__ready(res_ready),
`ifdef FPGAC_DEBUG
        .debug_addr(dbg_addr), .debug_data(dbg_data),
`endif
`ifdef FPGAC_LOADED
        .weights__payload(w_payload), .weights__valid(w_valid), .weights__ready(w_ready),
        .weights_start(w_start), .weights_done(w_done), .weights_ok(w_ok),
`endif
        .busy(busy)
    );
`ifndef FPGAC_DEBUG
    assign dbg_data = '0;
`endif

    // ---------------------------------------------------------------- run-time options
    string  img_prefix, out_path, dump_path, chunk_path, w_path;
    int     n_images = 0, stall_seed = 0, dump_images = 0, dump_words = 0, n_wbytes = 0;
    int     overlap = 0;
    int     w_fd = 0;
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
        if (!$value$plusargs("weights=%s", w_path)) w_path = "";
        if (!$value$plusargs("wbytes=%d", n_wbytes)) n_wbytes = 0;
        if (!$value$plusargs("overlap=%d", overlap)) overlap = 0;
        if (overlap != 0) dump_images = 0;
`ifndef FPGAC_DEBUG
        dump_images = 0;
`endif
`ifdef FPGAC_LOADED
        if (n_wbytes < 2) $fatal(1, "tb_top: +wbytes: expected >= 2 (image and CRC)");
        w_fd = $fopen(w_path, "r");
        if (w_fd == 0) $fatal(1, "tb_top: cannot open %s", w_path);
`else
        n_wbytes = 0;
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

    // CRC-16/CCITT of one more byte (an independent copy of the harness's)
    function automatic logic [15:0] crc16(input logic [15:0] c, input logic [7:0] b);
        logic [15:0] x;
        x = c ^ {b, 8'h00};
        for (int i = 0; i < 8; i++) x = x[15] ? ((x << 1) ^ 16'h1021) : (x << 1);
        return x;
    endfunction

    // ---------------------------------------------------------------- sequencer
    localparam logic [2:0] S_RESET = 3'd0, S_LOAD = 3'd1, S_FEED = 3'd2, S_WAIT = 3'd3,
                           S_DUMP = 3'd4, S_DONE = 3'd5, S_WEIGHTS = 3'd6, S_WCHECK = 3'd7;
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
    int     wb = 0;             // weight bytes accepted by the core so far
    int     wb_n = 0;
    int     w_wait = 0;         // cycles since the last weight byte
    int     w_code = 0;
    logic [7:0]  w_byte = 8'd0;
    logic [15:0] w_crc = 16'hffff;
    logic [15:0] w_want = 16'd0;    // the CRC bytes of the file (blocking: read here only)
    int     res_image = 0;      // +overlap: index of the next result
    logic   ov_have = 1'b0;     // +overlap: first valid cycle seen for that result
    longint ov_cycle = 0;
    logic        w_early = 1'b0; // weights_done seen high while streaming
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
                    if (n_wbytes > 0) begin
                        state <= S_WEIGHTS;
`ifdef FPGAC_LOADED
                        w_start <= 1'b1;
`endif
                    end else begin
                        state <= (n_images > 0) ? S_LOAD : S_DONE;
                    end
                end
            end
`ifdef FPGAC_LOADED
            S_WEIGHTS: begin
                // the image bytes (all but the last 2 of the file), valid held until taken
                w_start <= 1'b0;
                if (w_done && !w_start) w_early <= 1'b1;
                wb_n = wb + ((w_valid && w_ready) ? 1 : 0);
                if (w_valid && w_ready) w_crc <= crc16(w_crc, w_payload);
                if (!(w_valid && !w_ready)) begin
                    if (wb_n < n_wbytes - 2 && allow_valid) begin
                        w_code = $fscanf(w_fd, "%h\n", w_byte);
                        if (w_code != 1) $fatal(1, "tb_top: %s: byte %0d unreadable", w_path,
                                                wb_n);
                        w_valid <= 1'b1;
                        w_payload <= w_byte;
                    end else begin
                        w_valid <= 1'b0;
                    end
                end
                wb <= wb_n;
                if (wb_n == n_wbytes - 2) begin
                    w_valid <= 1'b0;
                    w_want = 16'd0;
                    w_code = $fscanf(w_fd, "%h\n", w_byte);
                    w_want[7:0] = w_byte;
                    w_code = w_code + $fscanf(w_fd, "%h\n", w_byte);
                    w_want[15:8] = w_byte;
                    if (w_code != 2) $fatal(1, "tb_top: %s: CRC bytes unreadable", w_path);
                    w_wait <= 0;
                    state <= S_WCHECK;
                end
            end
            S_WCHECK: begin
                w_wait <= w_wait + 1;
                if (w_done || w_wait == 16) begin
                    w_ok <= w_done && (w_crc == w_want);
                    $fwrite(out_fd, "weights %0d %0d %0d %0d\n", w_done, w_crc == w_want,
                            w_early, w_wait);
                    $fclose(w_fd);
                    state <= (n_images > 0) ? S_LOAD : S_DONE;
                end
            end
`endif
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
                    if (overlap == 0) begin
                        res_ready <= allow_ready;
                        state <= S_WAIT;
                    end else if (image + 1 < n_images) begin
                        image <= image + 1;
                        state <= S_LOAD;
                    end else begin
                        state <= S_WAIT;
                    end
                end
                if (cycle - image_start > timeout) begin
                    $fwrite(out_fd, "timeout %0d feed %0d\n", image, pix);
                    state <= S_DONE;
                end
            end
            S_WAIT: if (overlap != 0) begin
                if (cycle - last_px_cycle > timeout) begin
                    $fwrite(out_fd, "timeout %0d wait %0d\n", res_image, cycle - last_px_cycle);
                    state <= S_DONE;
                end
            end else begin
                if (res_valid && !have_result) begin
                    have_result <= 1'b1;
                    result_cycle <= cycle;
                end
                if (res_valid && res_ready) begin
                    res_ready <= 1'b0;
                    $fwrite(out_fd, "%0d %0d %h %0d\n", image,
                            (have_result ? result_cycle : cycle) - last_px_cycle, res_payload,
                            last_px_cycle);
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
        // +overlap: results are captured whatever the feeder does (after the case: its
        // state change wins); an image's result comes before the next image's last pixel
        // transfer (the core's hand-over), so last_px_cycle is still this image's
        if (overlap != 0 && state != S_RESET && state != S_DONE) begin
            if (res_valid && !ov_have) begin
                ov_have <= 1'b1;
                ov_cycle <= cycle;
            end
            res_ready <= allow_ready;
            if (res_valid && res_ready) begin
                res_ready <= 1'b0;
                ov_have <= 1'b0;
                $fwrite(out_fd, "%0d %0d %h %0d\n", res_image,
                        (ov_have ? ov_cycle : cycle) - last_px_cycle, res_payload,
                        last_px_cycle);
                res_image <= res_image + 1;
                if (res_image + 1 == n_images) state <= S_DONE;
            end
        end
    end
endmodule
