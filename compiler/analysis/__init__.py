"""Read-only analyses of the IR or the hardware plan: shapes, widths, cycles, resources."""
