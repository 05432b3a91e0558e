"""The RTL testbench itself (tb_top.sv + cocotb runner), on a hand-written core with the core's
ports whose answers are known without :mod:`fpgac.hw` (the pixel sum, class 3, 100 cycles): a
fault here is the testbench's, not the generated core's. The generated core's RTL tests are
``tests/sim/test_rtl_core.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from fpgac.errors import FpgacError
from fpgac.sim import rtl

# Sums the 784 pixels, waits a fixed 100 cycles, returns {sum, klass=3}; debug reads the pixels.
CORE = """
module fake_core(clk, rst, pixels__payload, pixels__valid, pixels__ready,
  result__payload, result__valid, result__ready, busy, debug_addr, debug_data);
  input clk; input rst;
  input [7:0] pixels__payload; input pixels__valid; output pixels__ready;
  output [35:0] result__payload; output result__valid; input result__ready;
  output busy;
  input [9:0] debug_addr; output [7:0] debug_data;
  reg [7:0] mem [0:1023];
  reg [7:0] debug_data_r; assign debug_data = debug_data_r;
  reg [9:0] n; reg [1:0] st; reg [15:0] cnt; reg [31:0] sum;
  assign pixels__ready = st == 2'd0;
  assign result__valid = st == 2'd2;
  assign busy = st != 2'd0;
  assign result__payload = {sum, 4'd3};
  always @(posedge clk) begin
    debug_data_r <= mem[debug_addr];
    if (rst) begin n <= 0; st <= 0; sum <= 0; cnt <= 0; end
    else case (st)
      2'd0: if (pixels__valid) begin
          mem[n] <= pixels__payload; sum <= sum + {24'd0, pixels__payload}; n <= n + 10'd1;
          if (n == 10'd783) begin st <= 2'd1; cnt <= 0; end
        end
      2'd1: begin cnt <= cnt + 16'd1; if (cnt == 16'd99) st <= 2'd2; end
      2'd2: if (result__ready) begin st <= 2'd0; n <= 0; sum <= 0; end
      default: st <= 2'd0;
    endcase
  end
endmodule
"""

pytestmark = pytest.mark.slow


def _images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 1, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_results_cycles_and_dump(build_dir, simulator):
    imgs = _images(7)
    raw = rtl.simulate_verilog(CORE, "fake_core", imgs, simulator=simulator,
                               build_dir=build_dir, dump_images=2, dump_words=784)
    sums = imgs.reshape(7, -1).astype(np.int64).sum(1)
    logits, klass = rtl.decode_results(raw.payloads, classes=1, class_bits=4, out_bits=32)
    assert (klass == 3).all() and (logits[:, 0] == sums).all()
    assert (raw.compute_cycles == 101).all()
    assert (raw.memory == imgs[:2].reshape(2, -1)).all()


def test_cached_stalls_and_x_seed_identical(build_dir):
    imgs = _images(30, seed=1)
    a = rtl.simulate_verilog(CORE, "fake_core", imgs, build_dir=build_dir)
    b = rtl.simulate_verilog(CORE, "fake_core", imgs, build_dir=build_dir, stalls=5)
    c = rtl.simulate_verilog(CORE, "fake_core", imgs, build_dir=build_dir, x_seed=3)
    assert b.cached_build and c.cached_build
    assert a.payloads == b.payloads == c.payloads
    assert (b.compute_cycles == 101).all()
    assert b.total_cycles > a.total_cycles == c.total_cycles


def test_hung_core_times_out(build_dir):
    hung = CORE.replace("assign result__valid = st == 2'd2;", "assign result__valid = 1'b0;")
    with pytest.raises(FpgacError, match=r"image 0: expected a result, found none"):
        rtl.simulate_verilog(hung, "fake_core", _images(1), build_dir=build_dir,
                             timeout_cycles=500)


def test_port_contract_checked():
    with pytest.raises(FpgacError, match=r"expected a module named 'core', found fake_core"):
        rtl.core_interface(CORE, "core")
    bad = CORE.replace("input [7:0] pixels__payload;", "input [6:0] pixels__payload;")
    with pytest.raises(FpgacError, match=r"port pixels__payload: expected input \[8\], found "
                                         r"\('input', 7\)"):
        rtl.core_interface(bad, "fake_core")
