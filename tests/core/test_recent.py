"""What a process keeps (core.recent): values made once per key, for good or for a while."""

from __future__ import annotations

import time

import pytest

import core.recent
from core.recent import Recent


def test_a_value_is_made_once_per_key_and_shared():
    made: list[str] = []
    kept: Recent[str, list[str]] = Recent(None)

    def make(key: str) -> list[str]:
        made.append(key)
        return [key]

    first = kept.value("v1", lambda: make("v1"))
    again = kept.value("v1", lambda: make("v1"))
    other = kept.value("v2", lambda: make("v2"))
    assert first is again and other == ["v2"]
    assert made == ["v1", "v2"]


def test_a_full_memory_starts_again_rather_than_growing():
    kept: Recent[int, str] = Recent(None, limit=3)
    made: list[int] = []

    def make(key: int) -> str:
        made.append(key)
        return str(key)

    for key in [1, 2, 3, 4, 1]:
        kept.value(key, lambda key=key: make(key))  # type: ignore[misc]
    # 1, 2, 3 fill it; 4 clears it and is kept; 1 has to be made again.
    assert made == [1, 2, 3, 4, 1]


def test_a_value_kept_for_seconds_is_read_again_after_them(monkeypatch: pytest.MonkeyPatch):
    now = [time.monotonic()]
    monkeypatch.setattr(core.recent, "_now", lambda: now[0])
    kept: Recent[str, int] = Recent(5.0)
    reads = iter(range(10))
    assert kept.get("k", lambda: next(reads)) == 0
    assert kept.get("k", lambda: next(reads)) == 0, "kept"
    now[0] += 5.0
    assert kept.get("k", lambda: next(reads)) == 1, "read again"


def test_a_missing_value_is_kept_only_when_asked():
    kept: Recent[str, int] = Recent(5.0)
    reads = iter([None, 7, None, None])
    assert kept.get("a", lambda: next(reads)) is None
    assert kept.get("a", lambda: next(reads)) == 7, "an unknown key is looked up again"
    assert kept.get("b", lambda: next(reads), keep_missing=True) is None
    assert kept.get("b", lambda: next(reads), keep_missing=True) is None
