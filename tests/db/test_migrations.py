"""The Alembic migrations build the same schema as the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table, Uuid, bindparam, insert, inspect, select, text
from sqlalchemy.orm import Session

from core.vocabulary import ConsentStatus, JourneyStatus, TouchStatus
from db.migrate import alembic_config
from db.models import (
    LEAD_INSTANTS,
    Base,
    Consent,
    ConsentRecord,
    Enrollment,
    Event,
    Lead,
    Purchase,
    SequenceVersion,
    Staff,
    Store,
    Task,
    Touch,
)
from db.session import make_engine
from db.types import UTCDateTime
from sequences.vocabulary import Channel, Purpose, StaffRole
from tests.conftest import _backends, _fresh_postgres_database


@pytest.fixture(params=_backends())
def empty_database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url, drop = _fresh_postgres_database()
    yield url
    drop()


def test_migrations_match_the_models_and_round_trip(empty_database_url):
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            assert differences == [], "models and migrations disagree; write a migration"

        command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        command.upgrade(config, "head")
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _store_as_of_0009(session: Session) -> uuid.UUID:
    """A store row with the columns schema 0009 has (the model has gained some since)."""
    store_id = uuid.uuid4()
    session.execute(
        text(
            "INSERT INTO store (id, name, timezone, country, currency, locale, created_at) "
            "VALUES (:id, 'Old Jewellers', 'Asia/Kolkata', 'IN', 'INR', 'en', :at)"
        ).bindparams(bindparam("id", type_=Uuid()), bindparam("at", type_=UTCDateTime())),
        {"id": store_id, "at": datetime(2026, 10, 1, tzinfo=UTC)},
    )
    return store_id


def test_existing_consent_becomes_ledger_records_and_a_stop_keeps_stopping_receipts(
    empty_database_url,
):
    """0010 carries each consent row over: a grant; a revoked row's grant (when it had one)
    and its revocation; a STOP still stops every purpose, an email unsubscribe only marketing."""
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0009")
    engine = make_engine(empty_database_url)
    first, stop = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    try:
        with Session(engine) as session, session.begin():
            store_id = _store_as_of_0009(session)
            lead_id = _lead_before_0019(session, store_id, source="instagram")

            def row(channel: Channel, status: ConsentStatus, via: str | None) -> Consent:
                return Consent(
                    lead_id=lead_id,
                    channel=channel,
                    purpose=Purpose.MARKETING,
                    status=status,
                    source="instagram",
                    evidence="IG form",
                    captured_at=first,
                    revoked_at=stop if via else None,
                    revoked_via=via,
                )

            session.add_all(
                [
                    row(Channel.SMS, ConsentStatus.GRANTED, None),
                    row(Channel.WHATSAPP, ConsentStatus.REVOKED, "whatsapp:keyword"),
                    row(Channel.EMAIL, ConsentStatus.REVOKED, "one_click_unsubscribe"),
                ]
            )
        command.upgrade(config, "head")
        with Session(engine) as session:
            records = [
                (r.channel, r.purpose, r.status, r.source, r.evidence, r.given_at)
                for r in session.scalars(
                    select(ConsentRecord)
                    .where(ConsentRecord.lead_id == lead_id)
                    .order_by(ConsentRecord.channel, ConsentRecord.seq)
                )
            ]
            states = {
                (c.channel, c.purpose): c.status
                for c in session.scalars(select(Consent).where(Consent.lead_id == lead_id))
            }
    finally:
        engine.dispose()

    marketing, service = Purpose.MARKETING, Purpose.TRANSACTIONAL
    assert records == [
        (Channel.EMAIL, marketing, "granted", "instagram", "IG form", first),
        (Channel.EMAIL, marketing, "revoked", "one_click_unsubscribe", None, stop),
        (Channel.SMS, marketing, "granted", "instagram", "IG form", first),
        (Channel.WHATSAPP, marketing, "granted", "instagram", "IG form", first),
        (Channel.WHATSAPP, marketing, "revoked", "whatsapp:keyword", None, stop),
        (Channel.WHATSAPP, service, "revoked", "whatsapp:keyword", None, stop),
    ]
    assert states[(Channel.WHATSAPP, service)] == "revoked"  # a STOP still stops receipts
    assert (Channel.EMAIL, service) not in states  # an unsubscribe no longer does


def _lead_before_0019(session: Session, store_id: uuid.UUID, *, source: str) -> uuid.UUID:
    """A lead row without the instants schema 0019 adds (the model has them since)."""
    lead_id = uuid.uuid4()
    session.execute(
        insert(cast(Table, Lead.__table__)).values(
            id=lead_id, store_id=store_id, first_name="Asha", source=source
        )
    )
    return lead_id


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
            "at": datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
        },
    )


def test_existing_messages_get_their_leads_branch_and_journeys_sequence(empty_database_url):
    """0017 copies each message's branch (its lead's) and sequence (its journey's) onto it,
    and keeps the timeline's expression index through SQLite's copy of the table."""
    database_url = empty_database_url
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
            leads = [_lead_before_0019(session, s.id, source="walk_in") for s in stores]
            version = SequenceVersion(
                key="engagement_ring", version=1, name="Engagement ring", body={},
                content_hash="x", published_by="tests",
            )  # fmt: skip
            session.add(version)
            session.flush()
            journey = Enrollment(
                lead_id=leads[0], sequence_version_id=version.id,
                sequence_key="engagement_ring", workflow_id=f"journey:{uuid.uuid4()}",
            )  # fmt: skip
            session.add(journey)
            session.flush()
            _message_as_of_0016(session, leads[0], journey.id, "welcome")
            _message_as_of_0016(session, leads[1], None, "notice")
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


def test_existing_leads_get_their_instants_counted_from_their_rows(empty_database_url):
    """0019 counts each lead's kept instants from what was written before it: the first
    message to the lead (not a notice to staff), the first answer to a task, the first
    purchase, the last engagement (a stop is none) and its earliest running journey."""
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0018")
    engine = make_engine(empty_database_url)
    day = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    try:
        with Session(engine) as session, session.begin():
            store = Store(name="Anna Nagar", timezone="Asia/Kolkata", country="IN", currency="INR")
            session.add(store)
            session.flush()
            staff = Staff(store_id=store.id, name="Priya", role=StaffRole.ASSOCIATE)
            version = SequenceVersion(
                key="engagement_ring", version=1, name="Engagement ring", body={},
                content_hash="x", published_by="tests",
            )  # fmt: skip
            session.add_all([staff, version])
            session.flush()
            busy = _lead_before_0019(session, store.id, source="web_form")
            quiet = _lead_before_0019(session, store.id, source="walk_in")

            def at(hours: float) -> datetime:
                return day + timedelta(hours=hours)

            def touch(step: str, sent: datetime | None, staff_id=None) -> Touch:
                return Touch(
                    lead_id=busy, store_id=store.id, staff_id=staff_id, step_id=step,
                    channel=Channel.EMAIL, purpose=Purpose.MARKETING, template="x/a",
                    idempotency_key=f"test:{uuid.uuid4()}", status=TouchStatus.DELIVERED,
                    created_at=at(0), sent_at=sent,
                )  # fmt: skip

            def task(acknowledged, completed) -> Task:
                return Task(
                    store_id=store.id, lead_id=busy, kind="call", role_needed=StaffRole.ASSOCIATE,
                    reason="Call her", acknowledged_at=acknowledged, completed_at=completed,
                )  # fmt: skip

            def event(kind: str, when: datetime) -> Event:
                return Event(
                    store_id=store.id, lead_id=busy, kind=kind, source="test", payload={},
                    occurred_at=when, idempotency_key=f"test:{uuid.uuid4()}",
                )  # fmt: skip

            def journey(status: JourneyStatus, started: datetime) -> Enrollment:
                return Enrollment(
                    lead_id=busy, sequence_version_id=version.id, sequence_key="engagement_ring",
                    workflow_id=f"journey:{uuid.uuid4()}", status=status, started_at=started,
                )  # fmt: skip

            def sale(when: datetime) -> Purchase:
                return Purchase(
                    store_id=store.id, lead_id=busy, pos_transaction_id=uuid.uuid4().hex,
                    amount_minor=1_000_00, currency="INR", purchased_at=when,
                )  # fmt: skip

            session.add_all(
                [
                    touch("notice", at(0.5), staff_id=staff.id),  # to Priya, about the lead
                    touch("held", None),
                    touch("welcome", at(2)),
                    touch("follow_up", at(50)),
                    task(None, None),
                    task(None, at(9)),
                    task(at(6), at(20)),
                    event("captured", at(0)),
                    event("reply", at(30)),
                    event("opted_out", at(40)),
                    journey(JourneyStatus.EXITED, at(-100)),
                    journey(JourneyStatus.ACTIVE, at(1)),
                    journey(JourneyStatus.ACTIVE, at(3)),
                    sale(at(-2000)),  # an old sale, imported
                    sale(at(70)),
                ]
            )

        command.upgrade(config, "head")

        with Session(engine) as session:
            instants = {
                lead.id: tuple(getattr(lead, name) for name in LEAD_INSTANTS)
                for lead in session.scalars(select(Lead))
            }
    finally:
        engine.dispose()

    assert instants == {
        busy: (at(2), at(6), at(-2000), at(30), at(1)),
        quiet: (None, None, None, None, None),
    }
