"""Engines and units of work for SQLite (embedded) and PostgreSQL.

The embedded stack has two processes (API and worker) writing one SQLite file, so SQLite runs
in WAL mode with a busy timeout, and every transaction starts with BEGIN IMMEDIATE: a writer
waits for the lock up front instead of failing half-way when a read turns into a write. A
database that stays locked past the timeout is retried, never dropped.

Two things keep that lock from becoming the embedded stack's bottleneck:
- writers queue for their turn before they ask SQLite: threads of one process on a mutex,
  processes on an advisory lock file beside the database (`<file>.writers`). SQLite's own
  busy handler sleeps between polls (up to 100 ms), so a lock released while others polled
  could sit idle while they slept; the queue hands it over at once. The busy handler still
  stands behind it (for anything that writes without taking a turn).
- read-only units of work (`Database.read`) begin DEFERRED: in WAL mode a reader sees the last
  commit and neither waits for nor blocks the writer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from db.instants import keep_in_step

try:
    import fcntl
except ImportError:  # not POSIX: writers of one process still take turns on the mutex
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_MMAP_BYTES = 0x7FFF0000  # SQLite's usual compiled-in ceiling; address space, not RAM
LOCKED_RETRIES = 5
READ_ONLY = "facet_read_only"  # execution option: this unit of work never writes


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; for SQLite, creates the folder and sets WAL and the busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Read the file through the OS page cache mapped in (shared by every connection),
        # not 2 MB of private cache a read syscall at a time: the dashboards' index seeks
        # spent as long in those syscalls as in SQLite itself. Only reads are mapped.
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


class _WriterTurn:
    """SQLite writers take turns: threads on `mutex`, processes on an flock of a file.

    The kernel wakes the next waiter as soon as the lock file is released, and releases it if
    its holder dies. Not re-entrant (a unit of work never opens another). The file lock is
    POSIX-only; elsewhere the mutex alone, and SQLite's busy handler between processes.
    Postgres needs no turn: its mutex is a no-op and there is no file.

    `Database.run` takes the turn with plain `with` / `try` blocks, never through a helper's
    `__enter__`: an exception can arrive in a thread between any two bytecodes (Temporal
    cancels a threaded activity by raising into it, and it lands as soon as a blocked lock
    call returns), and one landing inside a hand-written `__enter__` kept both locks for ever
    — every writer of every process then waited on them. `with lock:` on a C lock and a
    `try` around the flock leave no such gap.
    """

    def __init__(self, database: str | None, *, sqlite: bool) -> None:
        self.mutex: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if sqlite else contextlib.nullcontext()
        )
        self._fd: int | None = None
        if sqlite and fcntl is not None and database and database != ":memory:":
            self._fd = os.open(f"{database}.writers", os.O_RDWR | os.O_CREAT, 0o600)

    def lock_file(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def unlock_file(self) -> None:
        """Safe when the lock was never taken: with the mutex held, no other thread has it."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class ReadOnlyViolation(RuntimeError):
    """A unit of work opened with `Database.read` tried to write."""


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyViolation("a read-only unit of work tried to write; use Database.run")


def _is_locked(error: OperationalError) -> bool:
    return "database is locked" in str(error.orig) or "database is busy" in str(error.orig)


class Database:
    """Owns the engine and hands out units of work: one request or one activity each."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        event.listen(self._readers, "before_flush", _refuse_flush)
        # Every write keeps the instants the dashboards read off a lead row (db/instants.py).
        event.listen(self._sessions, "after_flush", keep_in_step)
        # SQLite has one writer at a time: writers take turns here first.
        self._writers = _WriterTurn(self.engine.url.database, sqlite=self.dialect == "sqlite")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session

    def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one unit of work, retrying it whole if SQLite stays locked."""
        for attempt in range(1, LOCKED_RETRIES + 1):
            try:
                with self._writers.mutex:
                    try:
                        self._writers.lock_file()
                        with self.session() as session:
                            return work(session)
                    finally:
                        self._writers.unlock_file()
            except OperationalError as error:
                if not _is_locked(error) or attempt == LOCKED_RETRIES:
                    raise
                log.warning("database locked; retrying unit of work (attempt %d)", attempt)
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def read(self, work: Callable[[Session], T]) -> T:
        """Run `work`, which only reads, without taking SQLite's write lock.

        An ORM change inside `work` raises ReadOnlyViolation instead of being flushed: anything
        that writes belongs in `run`.
        """
        with self._readers.begin() as session:
            return work(session)

    def dispose(self) -> None:
        self.engine.dispose()
        self._writers.close()
