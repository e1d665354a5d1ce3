"""Workflows: deterministic orchestration. No I/O, clocks or randomness outside Temporal's."""
