"""Values a process keeps instead of reading or computing them again, each for a while.

Two kinds of source use it. Rows that change a few times a year but are read by every capture
(a store, the newest journey for a segment, a store's promoted model version) are kept for
RECENT_SECONDS: a change made elsewhere is seen that long after. Values derived from rows that
never change once written (a published sequence version's parse, a fitted model) are kept
with `seconds=None`, for good. Whoever reads such a source owns its `Recent` (see
domain/reference.py); nothing here is global.

A missing value (None) is kept only when asked (`keep_missing`): an unknown store id is looked
up again next time, so a store created a moment ago is found at once, while "this store has
no model yet" is worth keeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

RECENT_SECONDS = 5.0
LIMIT = 1024  # entries; when full it starts again (cheaper than tracking which is oldest)


class Recent(Generic[K, V]):
    """`get(key, load)`: the value `load()` gave for `key`, if it gave it less than `seconds`
    ago (or ever, with `seconds=None`); else `load()` again."""

    def __init__(self, seconds: float | None = RECENT_SECONDS, *, limit: int = LIMIT) -> None:
        self._seconds = seconds
        self._limit = limit
        self._values: dict[K, tuple[float, V | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, load: Callable[[], V | None], *, keep_missing: bool = False) -> V | None:
        now = _now()
        kept = self._values.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        value = load()
        if value is not None or keep_missing:
            until = float("inf") if self._seconds is None else now + self._seconds
            with self._lock:
                if len(self._values) >= self._limit:
                    self._values.clear()
                self._values[key] = (until, value)
        return value

    def value(self, key: K, make: Callable[[], V]) -> V:
        """`get` for a source that always gives a value (a parse, a fitted model)."""
        value = self.get(key, make)
        assert value is not None, "make() gave None"
        return value

    def forget(self) -> None:
        with self._lock:
            self._values.clear()


def _now() -> float:
    return time.monotonic()
