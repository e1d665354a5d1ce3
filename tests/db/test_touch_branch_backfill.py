"""0017 copies each existing message's branch (its lead's) and sequence (its journey's) onto
the message, and keeps the timeline's expression index through SQLite's table copy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Uuid, bindparam, inspect, select, text
from sqlalchemy.orm import Session

from db.migrate import alembic_config
from db.models import Enrollment, Lead, SequenceVersion, Store, Touch
from db.session import make_engine
from db.types import UTCDateTime
from tests.conftest import _backends, _fresh_postgres_database

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(params=_backends())
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'backfill.db'}"
        return
    url, drop = _fresh_postgres_database()
    yield url
    drop()


def _message_as_of_0016(session: Session, lead_id: uuid.UUID, enrollment_id, step: str) -> None:
    """A message row with the columns schema 0016 has (no branch, no sequence)."""
    session.execute(
        text(
            "INSERT INTO touch (id, lead_id, enrollment_id, step_id, channel, purpose, template,"
            " idempotency_key, status, created_at, sent_at, updated_at) VALUES (:id, :lead,"
            " :journey, :step, 'email', 'marketing', 'x/a', :key, 'delivered', :at, :at, :at)"
        ).bindparams(
            bindparam("id", type_=Uuid()),
            bindparam("lead", type_=Uuid()),
            bindparam("journey", type_=Uuid()),
            bindparam("at", type_=UTCDateTime()),
        ),
        {
            "id": uuid.uuid4(),
            "lead": lead_id,
            "journey": enrollment_id,
            "step": step,
            "key": f"test:{uuid.uuid4()}",
            "at": AT,
        },
    )


def test_existing_messages_get_their_leads_branch_and_journeys_sequence(database_url):
    config = alembic_config(database_url)
    command.upgrade(config, "0016")
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            stores = [
                Store(name=name, timezone="Asia/Kolkata", country="IN", currency="INR")
                for name in ("Anna Nagar", "T Nagar")
            ]
            session.add_all(stores)
            session.flush()
            leads = [Lead(store_id=s.id, first_name="Asha", source="walk_in") for s in stores]
            version = SequenceVersion(
                key="engagement_ring", version=1, name="Engagement ring", body={},
                content_hash="x", published_by="tests",
            )  # fmt: skip
            session.add_all([*leads, version])
            session.flush()
            journey = Enrollment(
                lead_id=leads[0].id, sequence_version_id=version.id,
                sequence_key="engagement_ring", workflow_id=f"journey:{uuid.uuid4()}",
            )  # fmt: skip
            session.add(journey)
            session.flush()
            _message_as_of_0016(session, leads[0].id, journey.id, "welcome")
            _message_as_of_0016(session, leads[1].id, None, "notice")
            expected = {
                "welcome": (stores[0].id, "engagement_ring"),
                "notice": (stores[1].id, None),
            }

        command.upgrade(config, "head")

        with Session(engine) as session:
            rows = session.execute(select(Touch.step_id, Touch.store_id, Touch.sequence_key))
            assert {step: (store, key) for step, store, key in rows} == expected
        if engine.dialect.name == "sqlite":  # the copy of the table must not drop it
            with engine.connect() as connection:
                names = connection.execute(
                    text("SELECT name FROM sqlite_master WHERE tbl_name = 'touch'")
                ).scalars()
                assert "ix_touch_lead_timeline" in set(names)
        else:
            indexes = {i["name"] for i in inspect(engine).get_indexes("touch")}
            assert "ix_touch_lead_timeline" in indexes
    finally:
        engine.dispose()
