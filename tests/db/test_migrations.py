"""The Alembic migrations build the same schema as the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Uuid, bindparam, inspect, select, text
from sqlalchemy.orm import Session

from core.vocabulary import ConsentStatus
from db.migrate import alembic_config
from db.models import Base, Consent, ConsentRecord, Lead
from db.session import make_engine
from db.types import UTCDateTime
from sequences.vocabulary import Channel, Purpose
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
            lead = Lead(store_id=store_id, first_name="Asha", source="instagram")
            session.add(lead)
            session.flush()

            def row(channel: Channel, status: ConsentStatus, via: str | None) -> Consent:
                return Consent(
                    lead_id=lead.id,
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
            lead_id = lead.id
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
