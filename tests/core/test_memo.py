"""The per-process memo for values parsed from immutable rows."""

from __future__ import annotations

from core.memo import Memo


def test_a_value_is_made_once_per_key_and_shared():
    made: list[str] = []
    memo: Memo[str, list[str]] = Memo()

    def make(key: str) -> list[str]:
        made.append(key)
        return [key]

    first = memo.get("v1", lambda: make("v1"))
    again = memo.get("v1", lambda: make("v1"))
    other = memo.get("v2", lambda: make("v2"))
    assert first is again and other == ["v2"]
    assert made == ["v1", "v2"]


def test_a_full_memo_starts_again_rather_than_growing():
    memo: Memo[int, str] = Memo(limit=3)
    made: list[int] = []

    def make(key: int) -> str:
        made.append(key)
        return str(key)

    for key in [1, 2, 3, 4, 1]:
        memo.get(key, lambda key=key: make(key))  # type: ignore[misc]
    # 1, 2, 3 fill it; 4 clears it and is kept; 1 has to be made again.
    assert made == [1, 2, 3, 4, 1]
