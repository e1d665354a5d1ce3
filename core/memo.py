"""A small per-process memo for values derived from rows that never change.

A published sequence version (keyed by its content hash) and a fitted scoring model (keyed
by its version) are immutable once written, so what is parsed from them can be kept for the
life of the process instead of being parsed again on every capture.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Up to `limit` values by key; when full it starts again (immutable sources: no staleness)."""

    def __init__(self, limit: int = 512) -> None:
        self._limit = limit
        self._values: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        value = self._values.get(key)
        if value is None:
            value = make()
            with self._lock:
                if len(self._values) >= self._limit:
                    self._values.clear()
                self._values[key] = value
        return value
