"""Finding a lead, and the lead's page."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Container
from datetime import date
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.settings import Settings
from core.vocabulary import Stage
from db.types import utcnow
from domain import catalogue, inbound, intake, lookup, merging, profile
from domain.accounts import Person
from domain.effects import Effects
from domain.reference import Reference
from domain.scoring import qualification_config
from sequences.vocabulary import Channel, EventKind, Occasion, Priority, Segment
from web import session
from web.inbox import read, tell, write_once
from web.pages import Refused, allow, back_to, is_htmx, optional_uuid, person, render
from workflows import handles

router = APIRouter(prefix="/console", include_in_schema=False)

Choice = tuple[uuid.UUID, str]

SEGMENTS = [segment.value for segment in Segment]
STAGES = [stage.value for stage in Stage]
TIERS = [tier.value for tier in Priority]


def _readers(me: Person) -> None:
    allow(me.works_tasks, "look up leads; ask a manager")


def _choice(value: str | None, allowed: list[str]) -> str | None:
    return value if value in allowed else None


@router.get("/leads")
async def leads_page(
    request: Request,
    q: str = "",
    segment: str | None = None,
    stage: str | None = None,
    tier: str | None = None,
    owner: str | None = None,
    cold: str | None = None,
    branch: str | None = None,
) -> Response:
    """Search by name, phone (any format) or email, with filters; results update as you type."""
    me = await person(request)
    _readers(me)
    query = lookup.LeadQuery(
        text=q[:200],
        segment=_choice(segment, SEGMENTS),
        stage=_choice(stage, STAGES),
        tier=_choice(tier, TIERS),
        owner_id=optional_uuid(owner),
        going_cold=cold == "1",
        store_id=optional_uuid(branch) if me.actor.store_id is None else None,
    )
    searched = bool(
        query.text.strip() or segment or stage or tier or owner or query.going_cold or branch
    )
    config = qualification_config(request.app.state.settings)
    now = utcnow()

    def find(db: Session) -> tuple[list[lookup.LeadRow], list[Choice], list[Choice]]:
        rows = lookup.find_leads(db, me.actor, query, config, now)
        return rows, lookup.people(db, me.actor), lookup.branches(db, me.actor)

    rows, owners, branches = await read(request, find)
    context = {
        "person": me,
        "rows": rows,
        "q": query.text,
        "query": query,
        "searched": searched,
        "segments": SEGMENTS,
        "stages": STAGES,
        "tiers": TIERS,
        "owners": owners,
        "branches": branches,
    }
    if is_htmx(request) and request.headers.get("hx-target") == "results":
        return render(request, "_lead_rows.html", context)
    return render(request, "leads.html", context)


@router.get("/leads/duplicates")
async def duplicates_page(request: Request) -> Response:
    """Leads that look like one person (same mailbox, number, name and birthday, …), each
    pair with its reasons, for a person to confirm and merge into the older lead."""
    me = await person(request)
    _readers(me)
    pairs = await read(request, lambda db: merging.likely_duplicates(db, me.actor))
    return render(request, "duplicates.html", {"person": me, "pairs": pairs})


@router.get("/leads/{lead_id}")
async def lead_page(request: Request, lead_id: uuid.UUID) -> Response:
    """The lead: profile, consent, timeline, journeys, tasks and purchases."""
    me = await person(request)
    _readers(me)
    page: lookup.LeadPage = await read(request, lambda db: lookup.lead_page(db, lead_id, me.actor))
    # Where each running journey is, in its own words (a journey that does not answer in a
    # few seconds shows without its next step).
    running = [journey.workflow_id for journey in page.journeys if journey.status == "active"]
    client = request.app.state.temporal
    views = await asyncio.gather(*(handles.journey_status(client, wid) for wid in running))
    picks = await read(request, lambda db: catalogue.picks_for_lead(db, lead_id, me.actor))
    context = {
        "person": me,
        "lead": page,
        "picks": picks,
        "journey_views": dict(zip(running, views, strict=True)),
        "lead_id": lead_id,
        "recordable": [(kind.value, label) for kind, label in RECORDABLE.items()],
        "channels": [channel.value for channel in CHANNELS],
        "segments": SEGMENTS,
        "occasions": [occasion.value for occasion in Occasion],
        "form_id": uuid.uuid4(),
    }
    return render(request, "lead.html", context)


# --- what a person records about a lead -------------------------------------------------------

RECORDABLE = {
    EventKind.STORE_VISIT: "Store visit",
    EventKind.NOTE: "Note",
    EventKind.APPOINTMENT_BOOKED: "Appointment booked",
    # Most stores take scheme payments at the counter: the first starts the monthly reminders.
    EventKind.SCHEME_INSTALMENT: "Gold scheme instalment paid",
}
CHANNELS = [Channel.SMS, Channel.WHATSAPP, Channel.EMAIL]


def _form_key(fields: dict[str, str], what: str) -> str:
    """The form's own id (made when the page was drawn) and what it records: a double
    submit records once."""
    form_id = optional_uuid(fields.get("form_id"))
    if form_id is None:
        raise Refused(422, "This form is missing its id. Reload the page and try again.")
    return f"console:{what}:{form_id}"


E = TypeVar("E", EventKind, Channel, Segment, Occasion)


async def _lead_form(
    request: Request, kind: type[E], field: str, allowed: Container[E], refusal: str
) -> tuple[dict[str, str], Person, E]:
    """A lead action's form (CSRF first), the person, and the one choice it must make."""
    fields = await session.form(request)
    me = await person(request)
    _readers(me)
    try:
        chosen = kind(fields.get(field, ""))
    except ValueError:
        raise Refused(422, refusal) from None
    if chosen not in allowed:
        raise Refused(422, refusal)
    return fields, me, chosen


async def _change(
    request: Request, lead_id: uuid.UUID, work: Callable[[Session], Effects]
) -> Response:
    """Write the change once, tell Temporal what it causes, and go back to the lead's page."""
    effects: Effects = await write_once(request, work)
    settings: Settings = request.app.state.settings
    await tell(request, lambda client: handles.apply(client, settings.temporal_task_queue, effects))
    return back_to(request, f"/console/leads/{lead_id}")


@router.post("/leads/{lead_id}/events")
async def record(request: Request, lead_id: uuid.UUID) -> Response:
    """Record a visit, a note, an appointment or a scheme instalment: the lead's journeys
    and score hear of it."""
    fields, me, kind = await _lead_form(
        request,
        EventKind,
        "kind",
        RECORDABLE,
        "Choose a visit, a note, an appointment or a gold scheme instalment.",
    )
    text = fields.get("text", "").strip()[:2000]
    key = _form_key(fields, "record")
    settings: Settings = request.app.state.settings
    reference: Reference = request.app.state.reference

    def write(db: Session) -> Effects:
        return intake.record_lead_event(
            db,
            reference,
            settings,
            me.actor,
            lead_id,
            key=key,
            kind=kind,
            source="console",
            payload={"by_account": str(me.account_id), **({"text": text} if text else {})},
            occurred_at=None,
        ).effects

    return await _change(request, lead_id, write)


@router.post("/leads/{lead_id}/opt-out")
async def opt_out(request: Request, lead_id: uuid.UUID) -> Response:
    """The lead said stop to me: that channel is off at once, recorded as heard by me."""
    fields, me, channel = await _lead_form(
        request, Channel, "channel", CHANNELS, "Choose the channel they asked you to stop."
    )
    key = _form_key(fields, "opt-out")
    now = utcnow()
    return await _change(
        request,
        lead_id,
        lambda db: inbound.spoken_opt_out(db, me.actor, lead_id, channel, key=key, now=now),
    )


# --- what a person changes on a lead's profile --------------------------------------------------


@router.post("/leads/{lead_id}/segment")
async def change_segment(request: Request, lead_id: uuid.UUID) -> Response:
    """Set the lead's segment; its journey starts if a sequence is published for it."""
    _fields, me, segment = await _lead_form(
        request, Segment, "segment", list(Segment), "Choose one of the segments."
    )
    reference: Reference = request.app.state.reference
    return await _change(
        request,
        lead_id,
        lambda db: profile.change_segment(db, reference, me.actor, lead_id, segment),
    )


@router.post("/leads/{lead_id}/occasions")
async def set_occasion(request: Request, lead_id: uuid.UUID) -> Response:
    """Add or correct an occasion date; its yearly countdown follows."""
    fields, me, occasion = await _lead_form(
        request, Occasion, "occasion", list(Occasion), "Choose which occasion it is."
    )
    try:
        day = date.fromisoformat(fields.get("day", ""))
    except ValueError:
        raise Refused(422, "Give the date as a day, month and year.") from None
    reference: Reference = request.app.state.reference
    today = utcnow().date()
    return await _change(
        request,
        lead_id,
        lambda db: profile.set_occasion(db, reference, me.actor, lead_id, occasion, day, today),
    )


@router.post("/leads/{lead_id}/merge")
async def merge(request: Request, lead_id: uuid.UUID) -> Response:
    """Merge a duplicate into this lead: one person, one lead, one history."""
    fields = await session.form(request)
    me = await person(request)
    _readers(me)
    other = optional_uuid(fields.get("other"))
    if other is None:
        raise Refused(422, "Choose the duplicate to merge into this lead.")
    now = utcnow()
    reference: Reference = request.app.state.reference
    return await _change(
        request,
        lead_id,
        lambda db: merging.merge_leads(db, me.actor, lead_id, other, now, reference).effects,
    )
