"""The launcher's supervisor: a process that keeps dying waits longer each time."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from scripts.stack import Stack, Supervisor


def _supervise(exit_code: int, until: Callable[[list[str]], bool], **backoff: float) -> list[str]:
    """Supervise a process that exits with `exit_code` at once; what the launcher said."""
    said: list[str] = []
    stack = Stack(say=said.append)
    stack.start("crasher", [sys.executable, "-c", f"raise SystemExit({exit_code})"])
    supervisor = Supervisor(stack, **backoff)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not until(said):
            supervisor.tick()
            time.sleep(0.02)
    finally:
        stack.stop(timeout=5)
    return said


def _exits(said: list[str]) -> list[str]:
    return [line for line in said if "exited" in line]


def test_a_process_that_keeps_dying_is_restarted_with_doubling_delays_up_to_the_cap():
    said = _supervise(
        3,
        lambda said: sum("restarted" in line for line in said) == 4,
        first_delay=0.2,
        max_delay=0.8,
    )
    assert _exits(said) == [
        f"crasher exited (code 3); restarting it in {delay} s (the rest keeps running)"
        for delay in ("0.2", "0.4", "0.8", "0.8")
    ]
    assert sum("crasher restarted (pid" in line for line in said) == 4


def test_a_process_that_ran_long_enough_starts_over_at_the_first_delay():
    said = _supervise(
        1, lambda said: len(_exits(said)) == 3, first_delay=0.2, max_delay=5, healthy_after=0
    )
    assert (
        _exits(said)
        == ["crasher exited (code 1); restarting it in 0.2 s (the rest keeps running)"] * 3
    )
