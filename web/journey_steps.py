"""Journey step statistics, for marketing: per version and step of a sequence, what became
of its messages and how its journeys ended. Reached from the sequence library (its
"Results" tab). Counts cover the branches the person may see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.vocabulary import ApiRole
from domain import sequences
from domain.accounts import Person
from insight.journey_steps import COLUMNS, step_statistics
from web.inbox import read
from web.pages import allow, person, render

router = APIRouter(prefix="/console/sequences", include_in_schema=False)


def reads_results(me: Person) -> bool:
    """Marketing and admins (who work on the library), and managers."""
    return me.authors_sequences or me.manages or me.role is ApiRole.ADMIN


@router.get("/{key}/steps")
async def steps_page(request: Request, key: str) -> Response:
    """Every version's steps with their counts, and how the journeys ended."""
    me = await person(request)
    allow(reads_results(me), "see a sequence's results")
    stores = None if me.actor.store_id is None else (me.actor.store_id,)

    def find(db: Session) -> dict[str, Any]:
        versions = sequences.versions_of(db, key)  # a missing key is a 404, as in the library
        return {"versions": versions, "stats": step_statistics(db, key, stores)}

    found = await read(request, find)
    context = {"person": me, "key": key, "columns": COLUMNS, **found}
    return render(request, "steps.html", context)
