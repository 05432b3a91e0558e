"""Board harness (UART, LEDs), platforms, tool runs and their logs, build reports, host runtime."""
