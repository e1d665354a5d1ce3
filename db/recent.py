"""Rows every capture reads but that change a few times a year, kept per process for seconds.

A capture reads its store, the newest sequence for the lead's segment and the store's
promoted scoring model: three of its queries, about a fifth of the API's CPU per new lead,
for rows that change when a store is set up, marketing publishes or a refit promotes.

Each value is kept for RECENT_SECONDS, per database. A change made through this process
(`SequenceRepository.publish`, a promoted `ScoringModel`) forgets everything once its unit
of work commits; a change made by another process (the worker promoting a model while the
API captures) is seen within RECENT_SECONDS. A missing row (None) is kept only when asked
(`keep_missing`): an unknown store id is looked up again next time, so a store created a
moment ago is found at once, while "this store has no model yet" is worth keeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

V = TypeVar("V")

RECENT_SECONDS = 5.0
LIMIT = 1024  # entries per cache; when full it starts again


class Recent(Generic[V]):
    """`get(session, key, load)`: the value `load()` gave for `key` on this database, if it
    gave it less than `seconds` ago; else `load()` again."""

    def __init__(self, seconds: float = RECENT_SECONDS) -> None:
        self._seconds = seconds
        self._values: dict[tuple[str, Hashable], tuple[float, V | None]] = {}
        self._lock = threading.Lock()

    def get(
        self,
        session: Session,
        key: Hashable,
        load: Callable[[], V | None],
        *,
        keep_missing: bool = False,
    ) -> V | None:
        full_key = (_database_of(session), key)
        now = _now()
        kept = self._values.get(full_key)
        if kept is not None and kept[0] > now:
            return kept[1]
        value = load()
        if value is not None or keep_missing:
            with self._lock:
                if len(self._values) >= LIMIT:
                    self._values.clear()
                self._values[full_key] = (now + self._seconds, value)
        return value

    def forget_on_commit(self, session: Session) -> None:
        """Forget every value once `session`'s unit of work commits (it changed the rows)."""
        event.listen(session, "after_commit", lambda _session: self.forget(), once=True)

    def forget(self) -> None:
        with self._lock:
            self._values.clear()


def _now() -> float:
    return time.monotonic()


def _database_of(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)
