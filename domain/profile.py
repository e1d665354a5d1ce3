"""What a member of staff changes on a lead's profile: the segment, an occasion date.

Each returns the `Effects` the door applies after the commit: a new segment starts that
segment's journey (when a published sequence names it; a lead already in it keeps its run)
and ends the old segment's journey as superseded, as qualification's segment change does;
a new or corrected date starts its yearly countdown, or moves the running one to the date.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.orm import Session

from db.repositories import SequenceRepository
from domain.access import Actor
from domain.effects import Effects, Supersede
from domain.enrollment import plan_countdowns, plan_journey, superseded_by
from domain.errors import InvalidField
from domain.leads import lead_for
from domain.reference import Reference
from sequences.vocabulary import Occasion, Segment


def change_segment(
    session: Session, reference: Reference, actor: Actor, lead_id: uuid.UUID, segment: Segment
) -> Effects:
    """The person knows better than the score: the lead is `segment`, said by them."""
    lead = lead_for(session, lead_id, actor)
    effects = Effects()
    if lead.segment == segment.value:
        return effects
    lead.segment = segment.value
    lead.segment_reason = f"set by {actor.name}"
    version = SequenceRepository(session).latest_for_segment(segment.value)
    if version is not None:
        effects.journeys.append(plan_journey(session, reference, lead, version))
        ended = superseded_by(session, reference, lead.id, reference.sequence(version))
        effects.supersede += [Supersede(wid, "segment_changed") for wid in ended]
    session.flush()
    return effects


def set_occasion(
    session: Session,
    reference: Reference,
    actor: Actor,
    lead_id: uuid.UUID,
    occasion: Occasion,
    day: date,
    today: date,
) -> Effects:
    """Record (or correct) the date of the lead's occasion (a wedding may be ahead; an
    anniversary or birthday is the day it began); its countdown follows."""
    if not date(1900, 1, 1) <= day <= today.replace(year=today.year + 5):
        raise InvalidField("day", "give a date between 1900 and five years from now")
    lead = lead_for(session, lead_id, actor)
    lead.occasion_dates = {**lead.occasion_dates, occasion.value: day.isoformat()}
    session.flush()
    return Effects(countdowns=plan_countdowns(session, reference, lead, only=occasion))
