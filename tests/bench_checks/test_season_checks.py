"""The season simulation's verdict (bench/season.py `examine`): it must catch a message after
an opt-out, a day over the frequency cap and a marketing message inside quiet hours, and pass
a store that broke none — else `make bench`'s year run proves nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from bench.season import Person, examine
from core.vocabulary import TouchStatus
from db.models import Lead, Touch
from sequences.vocabulary import Channel, Purpose
from tests.factories import make_lead

KOLKATA = "Asia/Kolkata"
# Monday 1 March 2027 in Kolkata (UTC+5:30): 06:30 UTC is 12:00 there, inside India's
# promotional window (10:00-21:00); 18:30 UTC is midnight.
NOON = datetime(2027, 3, 1, 6, 30, tzinfo=UTC)
DAY_0 = NOON - timedelta(days=10)


def _sent(database, lead_id: uuid.UUID, at: datetime, purpose=Purpose.MARKETING) -> None:
    def add(session) -> None:
        session.add(
            Touch(
                lead_id=lead_id,
                store_id=session.get_one(Lead, lead_id).store_id,
                step_id=f"step-{uuid.uuid4().hex[:6]}",
                channel=Channel.EMAIL,
                purpose=purpose,
                template="engagement/four_cs",
                idempotency_key=f"season-check:{uuid.uuid4()}",
                status=TouchStatus.OUTBOX,
                sent_at=at,
            )
        )

    database.run(add)


def _person(lead_id: uuid.UUID, opted_out_at: datetime | None = None) -> Person:
    return Person(
        index=0,
        segment="engagement",
        zone=KOLKATA,
        phone="9845012345",
        email="a@example.com",
        captured_on=0,
        lead_id=str(lead_id),
        opted_out_at=opted_out_at,
    )


def test_a_store_that_kept_every_rule_passes(database, store):
    lead = make_lead(database, store, timezone=KOLKATA, phone="+919845012345")
    _sent(database, lead, NOON)
    _sent(database, lead, NOON + timedelta(days=2))
    _sent(database, lead, NOON + timedelta(hours=3), purpose=Purpose.TRANSACTIONAL)

    outcome = examine(database, store.id, DAY_0, [_person(lead)])

    assert (outcome.after_opt_out, outcome.over_cap, outcome.in_quiet_hours) == (0, 0, 0)
    assert outcome.messages == 3


def test_a_message_after_an_opt_out_a_second_on_one_day_and_one_at_midnight_are_caught(
    database, store
):
    stopped = make_lead(database, store, timezone=KOLKATA, phone="+919845012346")
    _sent(database, stopped, NOON)
    _sent(database, stopped, NOON + timedelta(days=3))  # after the stop below
    capped = make_lead(database, store, timezone=KOLKATA, phone="+919845012347")
    _sent(database, capped, NOON)
    _sent(database, capped, NOON + timedelta(hours=2))  # the store allows one a day
    late = make_lead(database, store, timezone=KOLKATA, phone="+919845012348")
    _sent(database, late, NOON + timedelta(hours=12))  # 00:00 in Kolkata

    outcome = examine(
        database,
        store.id,
        DAY_0,
        [_person(stopped, NOON + timedelta(days=1)), _person(capped), _person(late)],
    )

    assert (outcome.after_opt_out, outcome.over_cap, outcome.in_quiet_hours) == (1, 1, 1)
