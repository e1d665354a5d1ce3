"""Finding a lead, and the lead's page."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.vocabulary import Stage
from domain import lookup
from domain.accounts import Person
from sequences.vocabulary import Priority, Segment
from web.inbox import read
from web.pages import allow, is_htmx, person, render

router = APIRouter(prefix="/console", include_in_schema=False)

SEGMENTS = [segment.value for segment in Segment]
STAGES = [stage.value for stage in Stage]
TIERS = [tier.value for tier in Priority]


def _readers(me: Person) -> None:
    allow(me.works_tasks, "look up leads; ask a manager")


def _choice(value: str | None, allowed: list[str]) -> str | None:
    return value if value in allowed else None


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@router.get("/leads")
async def leads_page(
    request: Request,
    q: str = "",
    segment: str | None = None,
    stage: str | None = None,
    tier: str | None = None,
    owner: str | None = None,
) -> Response:
    """Search by name, phone (any format) or email, with filters; results update as you type."""
    me = await person(request)
    _readers(me)
    query = lookup.LeadQuery(
        text=q[:200],
        segment=_choice(segment, SEGMENTS),
        stage=_choice(stage, STAGES),
        tier=_choice(tier, TIERS),
        owner_id=_uuid(owner),
    )
    searched = bool(query.text.strip() or segment or stage or tier or owner)

    def find(db: Session) -> tuple[list[lookup.LeadRow], list[tuple[uuid.UUID, str]]]:
        return lookup.find_leads(db, me.actor, query), lookup.people(db, me.actor)

    rows, owners = await read(request, find)
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
    }
    if is_htmx(request) and request.headers.get("hx-target") == "results":
        return render(request, "_lead_rows.html", context)
    return render(request, "leads.html", context)


@router.get("/leads/{lead_id}")
async def lead_page(request: Request, lead_id: uuid.UUID) -> Response:
    """The lead: profile, consent, timeline, journeys, tasks and purchases."""
    me = await person(request)
    _readers(me)
    page = await read(request, lambda db: lookup.lead_page(db, lead_id, me.actor))
    return render(request, "lead.html", {"person": me, "lead": page})
