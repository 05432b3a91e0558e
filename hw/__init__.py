"""Amaranth components of the accelerator core. The only input is a HardwarePlan."""
