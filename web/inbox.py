"""The inbox: my open tasks, soonest SLA first, and what I do with them.

Acknowledge, complete and hand back go through the same domain operations and the same
EscalationTask signals as the API's /v1/tasks routes: the row is written first, then the
task's workflow (and, for an outcome, the lead's journeys and qualification) is told.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.service import RPCError

from core.settings import Settings
from core.vocabulary import TaskOutcome
from domain import inbox, notices, tasks
from domain.accounts import Person
from domain.effects import Effects, of_completion
from domain.errors import DomainError
from web import session
from web.pages import (
    Refused,
    allow,
    back_to,
    database,
    is_htmx,
    person,
    refusal,
    render,
    to_sign_in,
)
from workflows import handles

router = APIRouter(prefix="/console", include_in_schema=False)

OUTCOMES = [
    (TaskOutcome.CONTACTED, "Spoke with them"),
    (TaskOutcome.APPOINTMENT_BOOKED, "Appointment booked"),
    (TaskOutcome.NO_ANSWER, "No answer"),
    (TaskOutcome.NOT_INTERESTED, "Not interested"),
    (TaskOutcome.WRONG_NUMBER, "Wrong number"),
    (TaskOutcome.PURCHASED, "Bought"),
    (TaskOutcome.OTHER, "Something else"),
]


def _inbox_allowed(me: Person) -> None:
    allow(me.works_tasks, "work on tasks; the inbox is for the store's staff")


async def _task_form(request: Request) -> tuple[dict[str, str], Person]:
    """A task action's form (its CSRF token checked first) and the person who may act."""
    fields = await session.form(request)
    me = await person(request)
    _inbox_allowed(me)
    return fields, me


async def read(request: Request, work: Callable[[Session], Any]) -> Any:
    """Read in the database's thread pool; a domain refusal becomes the console's."""
    try:
        return await run_in_threadpool(database(request).read, work)
    except DomainError as error:
        raise refusal(error) from error


async def _write(request: Request, work: Callable[[Session], Any]) -> Any:
    try:
        return await run_in_threadpool(database(request).run, work)
    except DomainError as error:
        raise refusal(error) from error


async def write_once(request: Request, work: Callable[[Session], Any]) -> Any:
    """A write keyed by a unique id: if a concurrent twin (a double submit) committed first,
    running it again finds that row."""
    try:
        return await _write(request, work)
    except IntegrityError:
        return await _write(request, work)


async def tell(request: Request, call: Callable[[Client], Awaitable[Any]]) -> None:
    """Tell Temporal after the commit; if it cannot be reached, say that a retry is safe."""
    try:
        await call(request.app.state.temporal)
    except RPCError as error:
        raise Refused(
            503, "Saved, but the journeys could not be told yet. Press the button again."
        ) from error


async def _tell_hand_over(request: Request, task_id: uuid.UUID, handed: tasks.HandedOver) -> None:
    """The task's EscalationTask tells the new assignee."""
    await tell(
        request,
        lambda client: handles.hand_over_task(client, task_id, handed.assignee_id, handed.handover),
    )


@router.get("")
async def home(request: Request) -> Response:
    """Where a person lands: their inbox, or what their role has in the console."""
    me = await person(request)
    if me.works_tasks:
        return back_to(request, "/console/inbox")
    return render(request, "home.html", {"person": me})


async def _inbox(request: Request, template: str) -> Response:
    me = await person(request)
    _inbox_allowed(me)
    cards = await read(request, lambda db: inbox.inbox(db, me.actor))
    return render(request, template, {"person": me, "cards": cards, "outcomes": OUTCOMES})


@router.get("/inbox")
async def inbox_page(request: Request) -> Response:
    """My open tasks, soonest SLA first; the list refreshes itself every few seconds."""
    return await _inbox(request, "inbox.html")


@router.get("/inbox/tasks")
async def inbox_tasks(request: Request) -> Response:
    """The list alone, for the page's polling."""
    return await _inbox(request, "_task_list.html")


def _task_page_context(db: Session, task_id: uuid.UUID, me: Person) -> dict[str, Any]:
    card = inbox.task_card(db, task_id, me.actor)
    people = inbox.staff_names(tasks.colleagues(db, task_id, me.actor)) if me.manages else []
    return {"person": me, "card": card, "people": people, "outcomes": OUTCOMES}


@router.get("/tasks/{task_id}")
async def task_page(request: Request, task_id: uuid.UUID) -> Response:
    """One task and its lead (where a notice's link lands)."""
    me = await person(request)
    _inbox_allowed(me)
    context = await read(request, lambda db: _task_page_context(db, task_id, me))
    return render(request, "task.html", context)


@router.get("/t/{token}")
async def notice_link(request: Request, token: str) -> Response:
    """The link in a task notice: valid for a while, and still needs the person signed in."""
    settings: Settings = request.app.state.settings
    task_id = notices.read_task_link(settings.secret_key.get_secret_value(), token, session.now())
    if task_id is None:
        raise Refused(404, "This link has expired. Your inbox has all your tasks.")
    target = f"/console/tasks/{task_id}"
    if session.visit(request).account_id is None:
        return to_sign_in(request)
    return back_to(request, target)


async def _after(
    request: Request, task_id: uuid.UUID, me: Person, fields: dict[str, str]
) -> Response:
    """The changed card for htmx; otherwise back to the page the form was on."""
    if is_htmx(request):
        card = await read(request, lambda db: inbox.task_card(db, task_id, me.actor))
        return render(
            request, "_task_card.html", {"person": me, "card": card, "outcomes": OUTCOMES}
        )
    target = fields.get("next", "")
    return back_to(request, target if target.startswith("/console/") else "/console/inbox")


@router.post("/tasks/{task_id}/acknowledge")
async def acknowledge(request: Request, task_id: uuid.UUID) -> Response:
    """Take the task: its SLA stops escalating it."""
    fields, me = await _task_form(request)
    await _write(request, lambda db: tasks.acknowledge(db, task_id, me.actor))
    await tell(request, lambda client: handles.acknowledge_task(client, task_id, me.actor.staff_id))
    return await _after(request, task_id, me, fields)


@router.post("/tasks/{task_id}/complete")
async def complete(request: Request, task_id: uuid.UUID) -> Response:
    """Close the task with its outcome: it reaches the lead's timeline and journeys."""
    fields, me = await _task_form(request)
    try:
        outcome = TaskOutcome(fields.get("outcome", ""))
    except ValueError as error:
        raise Refused(422, "Choose how it went before completing the task.") from error
    note = fields.get("note", "").strip()[:2000] or None

    def close(db: Session) -> Effects:
        return of_completion(db, tasks.complete(db, task_id, outcome, note, me.actor))

    effects: Effects = await _write(request, close)
    settings: Settings = request.app.state.settings

    async def completed(client: Client) -> None:
        await handles.complete_task(client, task_id, me.actor.staff_id, outcome)
        await handles.apply(client, settings.temporal_task_queue, effects)

    await tell(request, completed)
    return await _after(request, task_id, me, fields)


@router.post("/tasks/{task_id}/hand-back")
async def hand_back(request: Request, task_id: uuid.UUID) -> Response:
    """I cannot take it: routing gives it to someone else (or the manager)."""
    fields, me = await _task_form(request)
    handed: tasks.HandedOver = await _write(
        request, lambda db: tasks.hand_back(db, task_id, me.actor)
    )
    await _tell_hand_over(request, task_id, handed)
    if is_htmx(request) and not me.manages:
        return render(request, "_notice.html", {"message": "Handed back.", "tone": "good"})
    return await _after(request, task_id, me, fields)


@router.post("/tasks/{task_id}/reassign")
async def reassign(request: Request, task_id: uuid.UUID) -> Response:
    """A manager gives the task to a person of its branch."""
    fields = await session.form(request)
    me = await person(request)
    allow(me.manages, "reassign tasks; ask your manager")
    try:
        staff_id = uuid.UUID(fields.get("staff_id", ""))
    except ValueError as error:
        raise Refused(422, "Choose who should take the task.") from error
    handed: tasks.HandedOver = await _write(
        request, lambda db: tasks.reassign_to(db, task_id, staff_id, me.actor)
    )
    await _tell_hand_over(request, task_id, handed)
    return await _after(request, task_id, me, fields)
