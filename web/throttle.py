"""Failed sign-ins, counted per email and per address over the last minute.

Kept in the process's memory: enough for the embedded stack and one API process; behind
several API processes each counts its own share (a shared store is for later).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0
ALLOWED_FAILURES = 5  # the sixth attempt within the window is refused


class SignInThrottle:
    def __init__(
        self,
        allowed: int = ALLOWED_FAILURES,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allowed = allowed
        self._window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        horizon = self._clock() - self._window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def refused(self, *keys: str) -> bool:
        """True when any key has used up its failures in the window."""
        return any(len(self._recent(key)) >= self._allowed for key in keys)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            self._recent(key).append(now)
        if len(self._failures) > 100_000:  # a flood of made-up emails: forget the quiet ones
            for key in [key for key, times in self._failures.items() if not times]:
                del self._failures[key]
