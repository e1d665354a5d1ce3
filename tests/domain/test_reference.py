"""What a capture keeps for a few seconds (domain.reference): its store, the newest journey for
a segment and the store's promoted model. A change through this process is seen by the very
next capture; a change by another process within RECENT_SECONDS; nothing crosses databases
(each database has its own Reference, as each composition root makes one beside its Database).

These tests run on databases of their own: they publish sequences the shared one must not see.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import update

import core.recent
from core.recent import RECENT_SECONDS
from db.migrate import migrate
from db.models import ScoringModel, SequenceVersion, Store
from db.repositories import SequenceRepository
from db.session import Database
from db.types import utcnow
from domain import learning, sequences
from domain.reference import Reference

FALLBACK = "engagement_welcome"


@pytest.fixture(scope="module")
def private_urls(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    urls = [f"sqlite:///{tmp_path_factory.mktemp('recent') / f'{n}.db'}" for n in (1, 2)]
    for url in urls:
        migrate(url)
    return urls


@pytest.fixture
def databases(private_urls: list[str]) -> Iterator[list[tuple[Database, Reference]]]:
    """Each database with its Reference, as a process's composition root pairs them."""
    opened = [(Database(url), Reference()) for url in private_urls]
    yield opened
    for database, _reference in opened:
        database.dispose()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """core.recent's clock, moved by hand: `clock[0] += RECENT_SECONDS`. It starts at the real
    one, so what these tests keep expires for the tests after them as it always would."""
    now = [time.monotonic()]
    monkeypatch.setattr(core.recent, "_now", lambda: now[0])
    return now


def _newest(kept: tuple[Database, Reference], segment: str) -> tuple[str, int]:
    database, reference = kept
    version = database.read(lambda s: reference.newest_journey(s, segment, FALLBACK))
    assert version is not None
    return version.key, version.version


def _publish_bridal(kept: tuple[Database, Reference], key: str) -> None:
    """A second bridal journey whose key sorts before the library's ("bridal")."""
    database, reference = kept

    def publish(session) -> None:
        library = SequenceRepository(session).latest("bridal")
        assert library is not None
        body = dict(library.body, key=key, name="Bridal, take two")
        assert sequences.publish(session, reference, body, by="test").created

    database.run(publish)


def test_a_publish_in_this_process_reaches_the_very_next_capture(databases, clock):
    kept = databases[0]
    assert _newest(kept, "bridal") == ("bridal", 1)
    _publish_bridal(kept, "a_bridal_take_two")
    assert _newest(kept, "bridal") == ("a_bridal_take_two", 1)


def test_a_change_made_elsewhere_is_seen_within_recent_seconds(databases, clock):
    kept = databases[0]
    database = kept[0]
    before = _newest(kept, "custom_design")

    def rename_elsewhere(session) -> None:  # as another process would: no publish here
        session.execute(
            update(SequenceVersion)
            .where(SequenceVersion.key == before[0])
            .values(version=SequenceVersion.version + 100)
        )

    database.run(rename_elsewhere)
    assert _newest(kept, "custom_design") == before, "kept for a few seconds"
    clock[0] += RECENT_SECONDS
    assert _newest(kept, "custom_design") == (before[0], before[1] + 100)


def test_the_sequence_a_capture_is_handed_loads_its_body_in_its_own_session(databases, clock):
    kept = databases[0]
    database, reference = kept
    _newest(kept, "engagement")  # now kept, without its (deferred) body

    def body_of_newest(session) -> dict:
        version = reference.newest_journey(session, "engagement", FALLBACK)
        assert version is not None and version in session
        return version.body

    assert database.read(body_of_newest)["segment"] == "engagement"


def test_databases_never_share_what_they_keep(databases, clock):
    first, second = (
        database.read(
            lambda s, reference=reference: reference.newest_journey(s, "bridal", FALLBACK)
        )
        for database, reference in databases
    )
    assert first is not None and second is not None
    assert first.id != second.id, "each database's own row, though the key is the same"
    latest = databases[1][0].read(lambda s: SequenceRepository(s).latest(second.key))
    assert latest is not None and second.id == latest.id


def test_an_unknown_store_is_not_kept_so_a_new_one_is_found_at_once(databases, clock):
    database, reference = databases[0]
    store_id = uuid.uuid4()
    assert database.read(lambda s: reference.store(s, store_id)) is None
    database.run(
        lambda s: s.add(
            Store(
                id=store_id, name="New branch", timezone="Asia/Dubai", country="AE", currency="AED"
            )
        )
    )
    profile = database.read(lambda s: reference.store(s, store_id))
    assert profile is not None and (profile.country, profile.timezone) == ("AE", "Asia/Dubai")


def test_a_promotion_in_this_process_is_scored_with_at_once(databases, clock):
    database, reference = databases[0]
    store_id = uuid.uuid4()
    database.run(
        lambda s: s.add(
            Store(
                id=store_id,
                name="Refit branch",
                timezone="Asia/Kolkata",
                country="IN",
                currency="INR",
            )
        )
    )
    current = lambda: database.read(  # noqa: E731
        lambda s: reference.model_version(s, store_id)
    )
    assert current() is None, "rules until the first refit (and that answer is kept)"

    def promote(version: str, *, promoted: bool) -> None:
        database.run(
            lambda s: learning.record_model(
                s,
                reference,
                ScoringModel(
                    store_id=store_id,
                    version=version,
                    body={},
                    metrics={},
                    promoted=promoted,
                    reason="test",
                    created_at=utcnow(),
                    promoted_at=utcnow() if promoted else None,
                ),
            )
        )

    promote(f"m-{uuid.uuid4().hex[:6]}-rejected", promoted=False)
    assert current() is None
    version = f"m-{uuid.uuid4().hex[:6]}"
    promote(version, promoted=True)
    assert current() == version
