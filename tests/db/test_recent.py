"""What a capture keeps for a few seconds (db.recent): its store, the newest sequence for a
segment and the store's promoted model. A change through this process is seen by the very
next capture; a change by another process within RECENT_SECONDS; nothing crosses databases.

These tests run on databases of their own: they publish sequences the shared one must not see.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import update

import db.recent
from db.migrate import migrate
from db.models import ScoringModel, SequenceVersion, Store
from db.recent import RECENT_SECONDS
from db.repositories import ScoringModelRepository, SequenceRepository, StoreRepository
from db.session import Database
from db.types import utcnow

FALLBACK = "engagement_welcome"


@pytest.fixture(scope="module")
def private_urls(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    urls = [f"sqlite:///{tmp_path_factory.mktemp('recent') / f'{n}.db'}" for n in (1, 2)]
    for url in urls:
        migrate(url)
    return urls


@pytest.fixture
def databases(private_urls: list[str]) -> Iterator[list[Database]]:
    opened = [Database(url) for url in private_urls]
    yield opened
    for database in opened:
        database.dispose()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """db.recent's clock, moved by hand: `clock[0] += RECENT_SECONDS`. It starts at the real
    one, so what these tests keep expires for the tests after them as it always would."""
    now = [time.monotonic()]
    monkeypatch.setattr(db.recent, "_now", lambda: now[0])
    return now


def _newest(database: Database, segment: str) -> tuple[str, int]:
    version = database.read(lambda s: SequenceRepository(s).newest_for_segment(segment, FALLBACK))
    assert version is not None
    return version.key, version.version


def _publish_bridal(database: Database, key: str) -> None:
    """A second bridal journey whose key sorts before the library's ("bridal")."""

    def publish(session) -> None:
        library = SequenceRepository(session).latest("bridal")
        assert library is not None
        body = dict(library.body, key=key)
        SequenceRepository(session).publish(key, "Bridal, take two", body, by="test")

    database.run(publish)


def test_a_publish_in_this_process_reaches_the_very_next_capture(databases, clock):
    database = databases[0]
    assert _newest(database, "bridal") == ("bridal", 1)
    _publish_bridal(database, "a_bridal_take_two")
    assert _newest(database, "bridal") == ("a_bridal_take_two", 1)


def test_a_change_made_elsewhere_is_seen_within_recent_seconds(databases, clock):
    database = databases[0]
    before = _newest(database, "custom_design")

    def rename_elsewhere(session) -> None:  # as another process would: no publish here
        session.execute(
            update(SequenceVersion)
            .where(SequenceVersion.key == before[0])
            .values(version=SequenceVersion.version + 100)
        )

    database.run(rename_elsewhere)
    assert _newest(database, "custom_design") == before, "kept for a few seconds"
    clock[0] += RECENT_SECONDS
    assert _newest(database, "custom_design") == (before[0], before[1] + 100)


def test_the_sequence_a_capture_is_handed_loads_its_body_in_its_own_session(databases, clock):
    database = databases[0]
    _newest(database, "engagement")  # now kept, without its (deferred) body

    def body_of_newest(session) -> dict:
        version = SequenceRepository(session).newest_for_segment("engagement", FALLBACK)
        assert version is not None and version in session
        return version.body

    assert database.read(body_of_newest)["segment"] == "engagement"


def test_databases_never_share_what_they_keep(databases, clock):
    first, second = (
        database.read(lambda s: SequenceRepository(s).newest_for_segment("bridal", FALLBACK))
        for database in databases
    )
    assert first is not None and second is not None
    assert first.id != second.id, "each database's own row, though the key is the same"
    assert second.id == databases[1].read(lambda s: SequenceRepository(s).latest(second.key)).id


def test_an_unknown_store_is_not_kept_so_a_new_one_is_found_at_once(databases, clock):
    database = databases[0]
    store_id = uuid.uuid4()
    assert database.read(lambda s: StoreRepository(s).profile(store_id)) is None
    database.run(
        lambda s: s.add(
            Store(
                id=store_id, name="New branch", timezone="Asia/Dubai", country="AE", currency="AED"
            )
        )
    )
    profile = database.read(lambda s: StoreRepository(s).profile(store_id))
    assert profile is not None and (profile.country, profile.timezone) == ("AE", "Asia/Dubai")


def test_a_promotion_in_this_process_is_scored_with_at_once(databases, clock):
    database = databases[0]
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
        lambda s: ScoringModelRepository(s).current_version(store_id)
    )
    assert current() is None, "rules until the first refit (and that answer is kept)"

    def promote(version: str, *, promoted: bool) -> None:
        database.run(
            lambda s: ScoringModelRepository(s).add(
                ScoringModel(
                    store_id=store_id,
                    version=version,
                    body={},
                    metrics={},
                    promoted=promoted,
                    reason="test",
                    created_at=utcnow(),
                    promoted_at=utcnow() if promoted else None,
                )
            )
        )

    promote(f"m-{uuid.uuid4().hex[:6]}-rejected", promoted=False)
    assert current() is None
    version = f"m-{uuid.uuid4().hex[:6]}"
    promote(version, promoted=True)
    assert current() == version
