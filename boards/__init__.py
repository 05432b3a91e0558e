"""Board harness (UART, LEDs), platforms, build flows, reports and the host runtime."""
