"""Campaigns, for marketing: the list, a new campaign's audience, its preview (how many leads,
and the first message one of them would get), start, progress and cancel.

Every rule is `domain.campaigns`', as for the API's /v1/campaigns; the console only reads its
form and tells Temporal (the CampaignWorkflow) after the commit.
"""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session
from temporalio.client import Client

from db.models import Store
from db.types import utcnow
from domain import campaigns
from domain.accounts import Person
from domain.fields import CalendarDate
from sequences.vocabulary import Channel, Priority, Segment
from web import session
from web.inbox import read, tell, write_once
from web.pages import allow, back_to, optional_uuid, person, render, sentence
from workflows import handles

router = APIRouter(prefix="/console/campaigns", include_in_schema=False)

SEGMENTS = [segment.value for segment in Segment]
TIERS = [tier.value for tier in Priority]
CHANNELS = [channel.value for channel in Channel]
_DAY: TypeAdapter[date] = TypeAdapter(CalendarDate)


async def _marketer(request: Request) -> Person:
    me = await person(request)
    allow(me.authors_sequences, "run campaigns; campaigns are for marketing")
    return me


def _form_context(me: Person, db: Session) -> dict[str, object]:
    return {
        "person": me,
        "branches": campaigns.branches(db, me.actor),
        "sequences": campaigns.journey_sequences(db),
        "segments": SEGMENTS,
        "tiers": TIERS,
        "channels": CHANNELS,
    }


@router.get("")
async def campaigns_page(request: Request) -> Response:
    """Every campaign, newest first, and the form for a new one."""
    me = await _marketer(request)

    def load(db: Session) -> dict[str, object]:
        return {
            **_form_context(me, db),
            "campaigns": campaigns.listed(db, me.actor),
            "form": {},
            "problems": {},
            "uuid4": uuid.uuid4(),
        }

    return render(request, "campaigns.html", await read(request, load))


def _audience(fields: dict[str, str]) -> tuple[campaigns.Audience, dict[str, str]]:
    """The audience the form describes, or the problems by field."""
    problems: dict[str, str] = {}
    channels = tuple(Channel(c) for c in CHANNELS if fields.get(f"channel_{c}") == "on")
    if not channels:
        problems["channels"] = "Choose at least one channel the audience consented to."
    store_id = optional_uuid(fields.get("store_id"))
    if fields.get("store_id") and store_id is None:
        problems["store_id"] = "Choose a branch from the list."
    segment = fields.get("segment", "")
    if segment and segment not in SEGMENTS:
        problems["segment"] = "Choose a segment from the list."
    tier = fields.get("score_tier", "")
    if tier and tier not in TIERS:
        problems["score_tier"] = "Choose hot, warm or cold."
    days: dict[str, date | None] = {}
    for name in ("last_purchase_before", "last_purchase_after"):
        value = fields.get(name, "").strip()
        days[name] = None
        if value:
            try:
                days[name] = _DAY.validate_python(value)
            except ValidationError as error:
                problems[name] = sentence(error.errors()[0]["msg"].removeprefix("Value error, "))
    audience = campaigns.Audience(
        channels=channels,
        store_id=store_id,
        segment=segment or None,
        score_tier=Priority(tier) if tier in TIERS else None,
        last_purchase_before=days["last_purchase_before"],
        last_purchase_after=days["last_purchase_after"],
    )
    return audience, problems


@router.post("")
async def create(request: Request) -> Response:
    """Create a draft campaign, then show its preview."""
    fields = await session.form(request)
    me = await _marketer(request)
    audience, problems = _audience(fields)
    name = fields.get("name", "").strip()
    if not 1 <= len(name) <= 200:
        problems["name"] = "Give the campaign a name (up to 200 characters)."
    key = fields.get("sequence_key", "")
    if not key:
        problems["sequence_key"] = "Choose the sequence to enroll the audience in."
    if problems:

        def again(db: Session) -> dict[str, object]:
            context = {**_form_context(me, db), "campaigns": campaigns.listed(db, me.actor)}
            return {**context, "form": fields, "problems": problems, "uuid4": uuid.uuid4()}

        return render(request, "campaigns.html", await read(request, again), 422)
    # The form carries a one-time id: a double submit finds the campaign it made.
    form_id = optional_uuid(fields.get("form_id")) or uuid.uuid4()

    def make(db: Session) -> uuid.UUID:
        return campaigns.create(
            db, me.actor, name=name, sequence_key=key, audience=audience, campaign_id=form_id
        ).id

    campaign_id = await write_once(request, make)
    return back_to(request, f"/console/campaigns/{campaign_id}")


@router.get("/{campaign_id}")
async def campaign_page(request: Request, campaign_id: uuid.UUID) -> Response:
    """The campaign: its audience, the preview (count and a sample message) before it starts,
    its progress (enrolled of total, batches done) once it runs, and start or cancel."""
    me = await _marketer(request)

    def load(db: Session) -> dict[str, object]:
        campaign = campaigns.get(db, campaign_id, me.actor)
        preview = (
            campaigns.preview(db, campaign_id, me.actor)
            if campaign.status == campaigns.CampaignStatus.DRAFT.value
            else None
        )
        branch = db.get(Store, campaign.store_id) if campaign.store_id else None
        audience = {
            name.replace("_", " ").capitalize(): value
            for name, value in campaign.audience.items()
            if value and name != "store_id"
        }
        return {
            "person": me,
            "campaign": campaign,
            "preview": preview,
            "branch": branch.name if branch else "Every branch",
            "audience": audience,
        }

    return render(request, "campaign.html", await read(request, load))


@router.post("/{campaign_id}/start")
async def start(request: Request, campaign_id: uuid.UUID) -> Response:
    """Start enrolling the audience (a repeat finds it running)."""
    await session.form(request)
    me = await _marketer(request)
    await write_once(request, lambda db: campaigns.start(db, campaign_id, me.actor, utcnow()).id)
    queue = request.app.state.settings.temporal_task_queue
    await tell(request, lambda client: handles.start_campaign(client, queue, campaign_id))
    return back_to(request, f"/console/campaigns/{campaign_id}")


@router.post("/{campaign_id}/cancel")
async def cancel(request: Request, campaign_id: uuid.UUID) -> Response:
    """Stop enrolling; the campaign's journeys that still run are ended."""
    await session.form(request)
    me = await _marketer(request)
    await write_once(request, lambda db: campaigns.cancel(db, campaign_id, me.actor, utcnow()).id)

    async def still_running() -> list[str]:
        return list(await read(request, lambda db: campaigns.journeys_to_end(db, campaign_id)))

    async def stop(client: Client) -> None:
        ended = await handles.cancel_campaign(client, campaign_id, still_running)
        if ended is not None:
            await write_once(request, lambda db: campaigns.record_ended(db, campaign_id, ended))

    await tell(request, stop)
    return back_to(request, f"/console/campaigns/{campaign_id}")
