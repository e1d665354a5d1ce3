"""Store setup, for admins: branches, staff (with invite links), API keys, and which
providers carry each channel.

Every rule (what a branch or a staff member may be, who may change which) is the domain's
(`domain.setup`, `domain.keys`); these pages read forms, call it, and show what it said. A
form that does not validate is shown again with the typed values and what to fix (422);
nothing is saved then.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from temporalio.service import RPCError

from core.settings import Settings
from core.vocabulary import ApiRole
from db.types import utcnow
from domain import channel_check, keys, setup
from domain.accounts import Person
from domain.errors import InvalidField
from providers.configuration import carriers
from sequences.vocabulary import Channel, StaffRole
from web import session
from web.inbox import read, write_once
from web.pages import Refused, allow, back_to, optional_uuid, person, render, sentence
from workflows import handles
from workflows.schedules import ensure_weekly_report

router = APIRouter(prefix="/console/setup", include_in_schema=False)
log = logging.getLogger(__name__)
T = TypeVar("T")

STAFF_ROLES = [role.value for role in StaffRole]
NOTICE_CHANNELS = [channel.value for channel in (Channel.SMS, Channel.WHATSAPP, Channel.EMAIL)]
KEY_ROLES = [role.value for role in ApiRole]


async def _admin(request: Request) -> Person:
    me = await person(request)
    allow(me.role is ApiRole.ADMIN, "set up the store; ask an admin")
    return me


async def _admin_form(request: Request) -> tuple[dict[str, str], Person]:
    """A setup form (its CSRF token checked first) and the admin posting it."""
    fields = await session.form(request)
    return fields, await _admin(request)


def _branch_details(fields: dict[str, str]) -> setup.BranchDetails:
    return setup.BranchDetails(
        **{name: fields.get(name, "") for name in setup.BranchDetails.__dataclass_fields__}
    )


def _staff_details(fields: dict[str, str]) -> setup.StaffDetails:
    return setup.StaffDetails(
        name=fields.get("name", ""),
        role=fields.get("role", ""),
        expertise=fields.get("expertise", ""),
        languages=fields.get("languages", ""),
        capacity=fields.get("capacity", ""),
        notice_channel=fields.get("notice_channel", ""),
        phone=fields.get("phone", ""),
        email=fields.get("email", ""),
        active=fields.get("active") == "1",
    )


def _wrong(error: InvalidField) -> dict[str, str]:
    return {"error": sentence(error.message), "error_field": error.field}


async def _saved(request: Request, work: Callable[[Session], T]) -> T | InvalidField:
    """Write once; a value the domain refused comes back, for the form to be shown again
    with it (any other refusal is the console's usual answer)."""
    try:
        result: T = await write_once(request, work)
    except Refused as refused:
        if isinstance(refused.__cause__, InvalidField):
            return refused.__cause__
        raise
    return result


# --- the overview and branches ------------------------------------------------------------


async def _overview(request: Request, me: Person, status: int = 200, **more: Any) -> Response:
    stores = await read(request, lambda db: setup.branches(db, me.actor))
    settings: Settings = request.app.state.settings
    context = {
        "person": me,
        "stores": stores,
        "carriers": list(carriers(settings).values()),
        "channels": NOTICE_CHANNELS,
        "may_open": me.actor.store_id is None,
        "check": {},
        **more,
    }
    return render(request, "setup.html", context, status)


@router.get("")
async def overview(request: Request) -> Response:
    """The branches, and how messages leave."""
    return await _overview(request, await _admin(request))


@router.post("/test-send")
async def test_send(request: Request) -> Response:
    """Send a test message to an address the admin typed, through the worker's provider for
    that channel (the outbox until the vendor is configured), and show what it said."""
    fields, me = await _admin_form(request)
    channel, to = fields.get("channel", ""), fields.get("to", "")
    typed = {"channel": channel, "to": to}

    def record(db: Session) -> uuid.UUID:
        country = (
            setup.branch(db, me.actor, me.actor.store_id).country if me.actor.store_id else None
        )
        return channel_check.request(
            db, me.actor, channel, to, country=country, account_id=me.account_id
        )

    check_id = await _saved(request, record)
    if isinstance(check_id, InvalidField):
        return await _overview(request, me, 422, check=typed, **_wrong(check_id))
    settings: Settings = request.app.state.settings
    try:
        result = await handles.send_channel_check(
            request.app.state.temporal, settings.temporal_task_queue, check_id
        )
    except RPCError as error:
        raise Refused(503, "Temporal could not be reached; the test was not sent.") from error
    return await _overview(request, me, check=typed, result=result or "waiting")


async def _weekly_report_schedule(request: Request, store_id: uuid.UUID, timezone: str) -> None:
    """Create or update the branch's Monday report schedule. Temporal being away is no
    reason to refuse the branch: the worker brings every branch's schedule up to date when it
    starts."""
    settings: Settings = request.app.state.settings
    if not settings.create_schedules:
        return
    try:
        await ensure_weekly_report(
            request.app.state.temporal, settings.temporal_task_queue, store_id, timezone
        )
    except RPCError:
        log.warning("branch %s: its weekly report schedule waits for the worker", store_id)


def _branch_context(me: Person, details: setup.BranchDetails, **more: Any) -> dict[str, Any]:
    return {"person": me, "branch": asdict(details), **more}


@router.get("/branches/new")
async def new_branch_page(request: Request) -> Response:
    """The form for a new branch."""
    me = await _admin(request)
    allow(me.actor.store_id is None, "open a branch; ask an admin of every branch")
    blank = setup.BranchDetails(name="", timezone="", country="", currency="")
    return render(request, "branch.html", _branch_context(me, blank, store=None))


@router.post("/branches")
async def create_branch(request: Request) -> Response:
    """Open a branch; then add its staff."""
    fields, me = await _admin_form(request)
    details = _branch_details(fields)
    store_id = await _saved(request, lambda db: setup.create_branch(db, me.actor, details).id)
    if isinstance(store_id, InvalidField):
        context = _branch_context(me, details, store=None, **_wrong(store_id))
        return render(request, "branch.html", context, 422)
    await _weekly_report_schedule(request, store_id, details.timezone)
    return back_to(request, f"/console/setup/branches/{store_id}")


def _branch_page(db: Session, me: Person, store_id: uuid.UUID) -> dict[str, Any]:
    store = setup.branch(db, me.actor, store_id)
    details = setup.BranchDetails(
        name=store.name,
        timezone=store.timezone,
        country=store.country,
        region=store.region or "",
        currency=store.currency,
        locale=store.locale,
        address=store.address or "",
        phone=store.phone or "",
        max_per_day=str(store.max_marketing_per_day or ""),
        max_per_week=str(store.max_marketing_per_week or ""),
    )
    return _branch_context(
        me,
        details,
        store=store,
        staff=setup.staff_of(db, me.actor, store_id),
        window=setup.spoken_window(setup.quiet_hours(store)),
    )


@router.get("/branches/{store_id}")
async def branch_page(request: Request, store_id: uuid.UUID) -> Response:
    """A branch: its settings, its quiet hours as they follow from them, and its staff."""
    me = await _admin(request)
    context = await read(request, lambda db: _branch_page(db, me, store_id))
    settings: Settings = request.app.state.settings
    context["default_caps"] = (settings.max_marketing_per_day, settings.max_marketing_per_week)
    context["saved"] = request.query_params.get("saved") == "1"
    return render(request, "branch.html", context)


@router.post("/branches/{store_id}")
async def update_branch(request: Request, store_id: uuid.UUID) -> Response:
    """Save a branch's settings."""
    fields, me = await _admin_form(request)
    details = _branch_details(fields)
    saved = await _saved(
        request, lambda db: setup.update_branch(db, me.actor, store_id, details).id
    )
    if isinstance(saved, InvalidField):
        context = await read(request, lambda db: _branch_page(db, me, store_id))
        context |= {"branch": asdict(details), **_wrong(saved)}
        return render(request, "branch.html", context, 422)
    await _weekly_report_schedule(request, store_id, details.timezone)
    return back_to(request, f"/console/setup/branches/{store_id}?saved=1")


# --- staff ------------------------------------------------------------------------------


def _staff_context(me: Person, details: setup.StaffDetails, **more: Any) -> dict[str, Any]:
    return {
        "person": me,
        "member": asdict(details),
        "roles": STAFF_ROLES,
        "channels": NOTICE_CHANNELS,
        **more,
    }


@router.get("/branches/{store_id}/staff/new")
async def new_staff_page(request: Request, store_id: uuid.UUID) -> Response:
    """The form for a new staff member of a branch."""
    me = await _admin(request)
    store = await read(request, lambda db: setup.branch(db, me.actor, store_id))
    blank = setup.StaffDetails(name="", role=StaffRole.ASSOCIATE.value)
    return render(request, "staff.html", _staff_context(me, blank, store=store, staff_id=None))


@router.post("/branches/{store_id}/staff")
async def add_staff(request: Request, store_id: uuid.UUID) -> Response:
    """Add a staff member; then send them their invite link."""
    fields, me = await _admin_form(request)
    details = _staff_details(fields)
    staff_id = await _saved(request, lambda db: setup.add_staff(db, me.actor, store_id, details).id)
    if isinstance(staff_id, InvalidField):
        store = await read(request, lambda db: setup.branch(db, me.actor, store_id))
        context = _staff_context(me, details, store=store, staff_id=None)
        return render(request, "staff.html", context | _wrong(staff_id), 422)
    return back_to(request, f"/console/setup/staff/{staff_id}")


def _staff_page(db: Session, me: Person, staff_id: uuid.UUID) -> dict[str, Any]:
    member = setup.staff_member(db, me.actor, staff_id)
    details = setup.StaffDetails(
        name=member.name,
        role=member.role.value,
        expertise=", ".join(member.expertise),
        languages=", ".join(member.languages),
        capacity=str(member.capacity),
        notice_channel=member.notice_channel.value if member.notice_channel else "",
        phone=member.phone_e164 or "",
        email=member.email or "",
        active=member.active,
    )
    store = setup.branch(db, me.actor, member.store_id)
    return _staff_context(me, details, store=store, staff_id=member.id)


@router.get("/staff/{staff_id}")
async def staff_page(request: Request, staff_id: uuid.UUID) -> Response:
    """A staff member: what routing and notices use, and their sign-in invite."""
    me = await _admin(request)
    context = await read(request, lambda db: _staff_page(db, me, staff_id))
    context["saved"] = request.query_params.get("saved") == "1"
    return render(request, "staff.html", context)


@router.post("/staff/{staff_id}")
async def update_staff(request: Request, staff_id: uuid.UUID) -> Response:
    """Save a staff member."""
    fields, me = await _admin_form(request)
    details = _staff_details(fields)
    saved = await _saved(request, lambda db: setup.update_staff(db, me.actor, staff_id, details).id)
    if isinstance(saved, InvalidField):
        context = await read(request, lambda db: _staff_page(db, me, staff_id))
        context |= {"member": asdict(details), **_wrong(saved)}
        return render(request, "staff.html", context, 422)
    return back_to(request, f"/console/setup/staff/{staff_id}?saved=1")


@router.post("/staff/{staff_id}/invite")
async def invite_staff(request: Request, staff_id: uuid.UUID) -> Response:
    """A one-time link (7 days) for the staff member to choose a password, shown once."""
    fields, me = await _admin_form(request)
    settings: Settings = request.app.state.settings
    secret, email, now = settings.secret_key.get_secret_value(), fields.get("email", ""), utcnow()
    invitation = await write_once(
        request, lambda db: setup.invite_staff(db, me.actor, secret, staff_id, email, now)
    )
    context = await read(request, lambda db: _staff_page(db, me, staff_id))
    base = str(request.base_url).rstrip("/")
    context["invite_link"] = f"{base}/console/invite/{invitation.token}"
    context["invite_expires"] = invitation.expires_at
    return render(request, "staff.html", context)


# --- API keys -----------------------------------------------------------------------------


async def _keys_page(request: Request, me: Person, status: int = 200, **more: Any) -> Response:
    def listing(db: Session) -> dict[str, Any]:
        return {
            "keys": keys.visible(db, me.actor),
            "stores": setup.branches(db, me.actor),
            "staff": [
                m for s in setup.branches(db, me.actor) for m in setup.staff_of(db, me.actor, s.id)
            ],
        }

    context = await read(request, listing)
    context |= {"person": me, "roles": KEY_ROLES, "form": {}, **more}
    return render(request, "keys.html", context, status)


@router.get("/keys")
async def keys_page(request: Request) -> Response:
    """The API keys (for machines: the till, the website, scripts), never their secrets."""
    return await _keys_page(request, await _admin(request))


@router.post("/keys")
async def create_key(request: Request) -> Response:
    """Make a key and show it, this once."""
    fields, me = await _admin_form(request)
    try:
        role = ApiRole(fields.get("role", ""))
    except ValueError:
        return await _keys_page(
            request, me, 422, error="Choose the key's role.", error_field="role", form=fields
        )
    store_id, staff_id = (
        optional_uuid(fields.get("store_id")),
        optional_uuid(fields.get("staff_id")),
    )
    name = fields.get("name", "")
    issued = await _saved(
        request,
        lambda db: keys.issue_checked(
            db, me.actor, name=name, role=role, store_id=store_id, staff_id=staff_id
        ),
    )
    if isinstance(issued, InvalidField):
        return await _keys_page(request, me, 422, form=fields, **_wrong(issued))
    return await _keys_page(request, me, new_key=issued, form=fields)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: uuid.UUID) -> Response:
    """Revoke a key: the API refuses it within seconds."""
    _fields, me = await _admin_form(request)
    now = utcnow()
    await write_once(request, lambda db: keys.revoke(db, me.actor, key_id, now))
    return back_to(request, "/console/setup/keys")
