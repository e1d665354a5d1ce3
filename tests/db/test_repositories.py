"""Repositories on a real database: immutable sequence versions, the outbox claim, and
SQLite's two-process writing."""

from __future__ import annotations

import ctypes
import functools
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from db.library import publish_library, sequence_body
from db.models import Event
from db.repositories import EventRepository, SequenceRepository
from db.session import Database, ReadOnlyViolation
from db.types import utcnow
from sequences.loader import load_library
from tests.factories import make_lead


def _product_view(store, lead_id: uuid.UUID, key: str) -> Event:
    return Event(
        store_id=store.id,
        lead_id=lead_id,
        kind="product_view",
        source="test",
        occurred_at=utcnow(),
        idempotency_key=key,
    )


def test_publishing_the_same_body_keeps_the_version_and_a_change_adds_one(database: Database):
    key = f"welcome_{uuid.uuid4().hex[:6]}"
    body = sequence_body(load_library()["engagement_welcome"]) | {"key": key}

    def publish(changed_name: str):
        return database.run(
            lambda s: SequenceRepository(s).publish(
                key, changed_name, body | {"name": changed_name}, by="t"
            )
        )

    first, same, changed = publish("A"), publish("A"), publish("B")
    assert (first.version, same.version, changed.version) == (1, 1, 2)
    assert same.id == first.id
    latest = database.run(lambda s: SequenceRepository(s).latest(key))
    assert latest is not None and latest.body["name"] == "B"
    old = database.run(lambda s: SequenceRepository(s).get(first.id))
    assert old is not None and old.body["name"] == "A"  # published versions never change


def test_republishing_an_unchanged_library_adds_no_versions(database: Database):
    before = database.run(lambda s: [v.version for v in publish_library(s)])
    after = database.run(lambda s: [v.version for v in publish_library(s)])
    assert before == after


def test_concurrent_writers_lose_no_event(database: Database, store):
    """API and worker write one SQLite file: every write lands, none fails as 'locked'.

    Two Database objects on one URL stand for the two processes (each has its own writer
    queue); three threads write through each.
    """
    lead_id = make_lead(database, store)
    other_process = Database(database.url)
    errors: list[BaseException] = []

    def add_view(session, key: str) -> Event:
        return EventRepository(session).add(_product_view(store, lead_id, key))

    def write(n: int) -> None:
        db = database if n % 2 else other_process
        try:
            for i in range(20):
                db.run(functools.partial(add_view, key=f"{n}-{i}"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other_process.dispose()
    assert errors == []
    count = database.run(
        lambda s: s.scalar(select(func.count()).select_from(Event).where(Event.lead_id == lead_id))
    )
    assert count == 120


def test_a_reader_is_not_held_up_by_a_writer(database: Database, store):
    """A timeline read while the worker holds the write lock answers with the last commit."""
    lead_id = make_lead(database, store)
    writing, read_done = threading.Event(), threading.Event()

    def slow_write(session) -> None:
        session.add(_product_view(store, lead_id, f"slow-{uuid.uuid4()}"))
        session.flush()
        writing.set()
        read_done.wait(timeout=20)  # holds the lock until the read is done (or gives up)

    writer = threading.Thread(target=database.run, args=(slow_write,))
    writer.start()
    assert writing.wait(timeout=20)
    seen = database.read(lambda s: EventRepository(s).for_lead(lead_id))
    finished_while_writer_held_lock = writer.is_alive()
    read_done.set()
    writer.join()
    assert finished_while_writer_held_lock
    assert [e.kind for e in seen] == []  # the uncommitted write is not visible


class _Cancelled(Exception):
    pass


def _raise_in_thread(thread: threading.Thread, error: type[BaseException]) -> None:
    """What Temporal does to cancel a threaded activity: raise into the thread, at once."""
    assert thread.ident is not None
    hit = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(error)
    )
    assert hit == 1


def test_a_writer_cancelled_while_waiting_for_its_turn_leaves_the_turn_free(
    database: Database, store
):
    """An activity cancelled while it waits for the write turn must not keep the turn.

    The exception lands the moment the waiter's lock call returns, i.e. once it holds the
    turn. The turn used to stay taken then, and every writer of every process hung.
    Postgres needs no turn, so there is nothing to wait for there.
    """
    if database.dialect != "sqlite":
        pytest.skip("writers take turns only on SQLite")
    lead_id = make_lead(database, store)
    holding, release = threading.Event(), threading.Event()
    outcome: list[BaseException | None] = []

    def hold(session) -> None:
        holding.set()
        release.wait(timeout=20)

    def wait_for_turn() -> None:
        try:
            database.run(lambda s: EventRepository(s).add(_product_view(store, lead_id, "never")))
            outcome.append(None)
        except _Cancelled as error:
            outcome.append(error)

    holder = threading.Thread(target=database.run, args=(hold,))
    holder.start()
    assert holding.wait(timeout=20)
    waiter = threading.Thread(target=wait_for_turn)
    waiter.start()
    time.sleep(0.2)  # the waiter is blocked on the turn
    _raise_in_thread(waiter, _Cancelled)
    release.set()
    holder.join(timeout=20)
    waiter.join(timeout=20)
    assert len(outcome) == 1 and isinstance(outcome[0], _Cancelled)

    after = threading.Thread(
        target=database.run,
        args=(lambda s: EventRepository(s).add(_product_view(store, lead_id, "after")),),
        daemon=True,  # if the turn leaked, this thread never finishes; the test must not hang
    )
    after.start()
    after.join(timeout=10)
    assert not after.is_alive(), "the cancelled writer kept the write turn"
    kinds = database.read(
        lambda s: [e.idempotency_key for e in EventRepository(s).for_lead(lead_id)]
    )
    assert kinds == ["after"]


def test_a_read_only_unit_of_work_refuses_to_write(database: Database, store):
    lead_id = make_lead(database, store)
    event = _product_view(store, lead_id, f"ro-{uuid.uuid4()}")
    with pytest.raises(ReadOnlyViolation):
        database.read(lambda s: EventRepository(s).add(event))
    assert database.read(lambda s: EventRepository(s).for_lead(lead_id)) == []
