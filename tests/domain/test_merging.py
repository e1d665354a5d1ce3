"""Two leads that are one person become one: the first keeps its details and gains the
second's history; a stop on either wins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.vocabulary import ApiRole, ConsentStatus
from db.models import Consent, Event, Lead, Task
from db.repositories import Capture
from domain import consent, merging
from domain.access import Actor
from domain.errors import InvalidField, UnknownLead
from sequences.vocabulary import Channel, Purpose
from tests.factories import add_event, make_lead
from tests.web.tasks import open_task

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_the_second_lead_merges_into_the_first(database, store):
    keep = make_lead(database, store, email=None, consent=(Channel.EMAIL,))
    other = make_lead(database, store, consent=(Channel.EMAIL, Channel.WHATSAPP))
    stop = Capture(source="sms", captured_by="webhook", evidence="STOP", given_at=NOW)
    database.run(lambda s: consent.stop(s, other, Channel.EMAIL, stop))
    add_event(database, store, other, "question", {"text": "Do you resize rings?"})
    task = open_task(database, store, lead_id=other)
    other_email = database.read(lambda s: s.get_one(Lead, other).email)
    actor = Actor(uuid.uuid4(), "Priya", ApiRole.ADMIN, store.id, None)

    merged = database.run(lambda s: merging.merge_leads(s, actor, keep, other, NOW))

    assert merged.lead_id == keep

    def read(s):
        lead = s.get_one(Lead, keep)
        rows = {
            (c.channel, c.purpose): c.status
            for c in s.scalars(select(Consent).where(Consent.lead_id == keep))
        }
        kinds = sorted(e.kind for e in s.scalars(select(Event).where(Event.lead_id == keep)))
        return lead, rows, kinds, s.get(Lead, other), s.get_one(Task, task)

    lead, rows, kinds, gone, moved_task = database.read(read)
    assert gone is None and lead.email == other_email  # it gained what it lacked
    assert rows[(Channel.EMAIL, Purpose.MARKETING)] is ConsentStatus.REVOKED  # the stop wins
    assert rows[(Channel.WHATSAPP, Purpose.MARKETING)] is ConsentStatus.GRANTED
    assert kinds == ["note", "question"] and moved_task.lead_id == keep
    with pytest.raises(UnknownLead):  # done once
        database.run(lambda s: merging.merge_leads(s, actor, keep, other, NOW))
    with pytest.raises(InvalidField):
        database.run(lambda s: merging.merge_leads(s, actor, keep, keep, NOW))
