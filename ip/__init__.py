"""The accelerator core as reusable IP: AXI4-Stream and Wishbone B4 wrappers (``fpgac ip``)."""
