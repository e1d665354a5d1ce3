"""Hosted enquiry forms for visitors (no key, no account), their QR codes, and the staff page
that lists them.

    /f/{branch id}?source=instagram&campaign=spring-bio   a branch's form for one source
    /f/{branch id}/tablet                                  the walk-in tablet: large fields,
                                                           empty again after each enquiry
    /f/{branch id}/qr.svg|qr.png?source=…                  the form's address as a QR code
    /console/capture                                       every form of my branches

A post is checked in this order, and refused in plain words: a body over CAPTURE_MAX_BYTES
(413; beyond MAX_BODY_BYTES the API's input guard refuses it before anything reads it), too
many posts from one address or to one branch in a minute (429; counted in this process's
memory, like failed sign-ins), a form token this server did not sign for this branch and
source in the last day (403; the token is in the form, there is no session), the honeypot
field (filled in by a robot: thanked, and nothing is recorded), then the fields. What
remains is captured through `intake.capture`, as `POST /v1/leads` does.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, urlencode

import segno
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from core.settings import Settings
from core.signing import sign, unsign
from core.vocabulary import ApiRole, LeadSource
from domain import forms
from domain.errors import InvalidField
from domain.forms import CONSENT_CHANNELS, FORM_SOURCES, INTERESTS, Enquiry, FormStore
from domain.leads import normalise_email, normalise_phone
from sequences.vocabulary import Channel, Segment
from web import session
from web.inbox import read, tell, write_once
from web.pages import PAGE_HEADERS, allow, database, person, render, templates
from web.throttle import SignInThrottle
from workflows import handles

router = APIRouter(include_in_schema=False)

CAPTURE_MAX_BYTES = 8 * 1024  # a filled-in form is well under 2 KiB
PER_ADDRESS_PER_MINUTE = 20  # a busy stand's tablet, not a script
PER_BRANCH_PER_MINUTE = 120  # every address together, for one branch
TOKEN_LIFETIME = timedelta(hours=24)  # a tablet left open all day still works
HONEYPOT = "website"  # hidden from people; robots fill it in
_PURPOSE = "capture-form"
_CAMPAIGN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")

MAX_NAME, MAX_MESSAGE = 100, 1000


class CaptureLimits:
    """Posts from one address, and to one branch, within the last minute."""

    def __init__(
        self,
        per_address: int = PER_ADDRESS_PER_MINUTE,
        per_branch: int = PER_BRANCH_PER_MINUTE,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # The sign-in throttle's sliding window, counting every post instead of failures.
        self._address = SignInThrottle(per_address, window, clock)
        self._branch = SignInThrottle(per_branch, window, clock)

    def admit(self, address: str, branch: uuid.UUID) -> bool:
        """Count the post, unless its address or branch has used up the minute's posts."""
        if self._address.refused(address) or self._branch.refused(branch.hex):
            return False
        self._address.failed(address)
        self._branch.failed(branch.hex)
        return True


def limits_of(request: Request) -> CaptureLimits:
    state = request.app.state
    if getattr(state, "capture_limits", None) is None:
        state.capture_limits = CaptureLimits()
    found: CaptureLimits = state.capture_limits
    return found


@dataclass(frozen=True)
class Form:
    """One hosted form: a branch, a source, an optional campaign, the tablet or not."""

    store_id: uuid.UUID
    source: LeadSource
    campaign: str | None = None
    tablet: bool = False

    def _query(self, *, tablet: bool = False) -> str:
        query = {"source": self.source.value}
        if self.campaign:
            query["campaign"] = self.campaign
        if tablet and self.tablet:
            query["tablet"] = "1"
        return urlencode(query)

    @property
    def path(self) -> str:
        """Where the form is, on this server."""
        return f"/f/{self.store_id}{'/tablet' if self.tablet else ''}?{self._query()}"

    @property
    def qr_query(self) -> str:
        """The query of its QR code's address, `/f/{branch id}/qr.svg?…` (or `qr.png`)."""
        return self._query(tablet=True)

    def qr_path(self, kind: str) -> str:
        """Where its QR code is (`svg` or `png`)."""
        return f"/f/{self.store_id}/qr.{kind}?{self.qr_query}"


def _form(store_id: str, source: str | None, campaign: str | None, tablet: bool) -> Form | None:
    """The form a URL names, or None for a branch id, source or campaign that cannot be."""
    try:
        branch = uuid.UUID(store_id)
        chosen = LeadSource(source or (LeadSource.WALK_IN if tablet else LeadSource.WEB_FORM))
    except ValueError:
        return None
    if chosen not in FORM_SOURCES or (campaign and not _CAMPAIGN.fullmatch(campaign)):
        return None
    return Form(branch, chosen, campaign or None, tablet)


def public_url(request: Request, path: str) -> str:
    settings: Settings = request.app.state.settings
    return settings.public_base_url.rstrip("/") + path


def _secret(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.secret_key.get_secret_value()


def form_token(request: Request, form: Form) -> str:
    """The form's signed token: which branch, source and campaign it was drawn for."""
    payload = {
        "s": form.store_id.hex,
        "src": form.source.value,
        "c": form.campaign or "",
        "t": int(form.tablet),
    }
    return sign(_secret(request), _PURPOSE, payload, session.now() + TOKEN_LIFETIME)


def form_of_token(request: Request, store_id: uuid.UUID, token: str) -> Form | None:
    payload = unsign(_secret(request), _PURPOSE, token, session.now())
    if payload is None or payload.get("s") != store_id.hex:
        return None
    return _form(
        str(store_id), str(payload.get("src")), str(payload.get("c") or ""), bool(payload.get("t"))
    )


# --- pages -----------------------------------------------------------------------------------


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """A visitor's page: no session cookie, nothing from elsewhere, never cached."""
    return templates.TemplateResponse(
        request,
        name,
        context,
        status_code=status,
        headers={**PAGE_HEADERS, "Cache-Control": "no-store"},
    )


def _sorry(request: Request, status: int, message: str, store: FormStore | None = None) -> Response:
    return _page(request, "capture_problem.html", {"message": message, "store": store}, status)


NO_FORM = "There is no enquiry form at this address. Please check the link or ask the store."


async def _store(request: Request, store_id: uuid.UUID) -> FormStore | None:
    found: FormStore | None = await run_in_threadpool(
        database(request).read, lambda db: forms.form_store(db, store_id)
    )
    return found


def _form_page(
    request: Request,
    form: Form,
    store: FormStore,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    done: bool = False,
    status: int = 200,
) -> Response:
    context = {
        "form": form,
        "store": store,
        "token": form_token(request, form),
        "wording": forms.consent_wording(store.name),
        "interests": [(segment.value, label) for segment, label in INTERESTS.items()],
        "channels": [(channel.value, label) for channel, label in CONSENT_CHANNELS.items()],
        "values": values or {},
        "errors": errors or {},
        "done": done,
        "honeypot": HONEYPOT,
    }
    return _page(request, "capture_form.html", context, status)


async def _show(request: Request, form: Form | None, done: bool) -> Response:
    store = await _store(request, form.store_id) if form is not None else None
    if form is None or store is None:
        return _sorry(request, 404, NO_FORM)
    return _form_page(request, form, store, done=done)


@router.get("/f/{store_id}")
async def form_page(
    request: Request, store_id: str, source: str | None = None, campaign: str | None = None
) -> Response:
    """A branch's enquiry form for one source (and campaign)."""
    return await _show(request, _form(store_id, source, campaign, tablet=False), done=False)


@router.get("/f/{store_id}/tablet")
async def tablet_page(
    request: Request,
    store_id: str,
    source: str | None = None,
    campaign: str | None = None,
    done: str | None = None,
) -> Response:
    """The walk-in tablet: the same form, large, thanking the last visitor when `done`."""
    return await _show(request, _form(store_id, source, campaign, tablet=True), done=done == "1")


@router.get("/f/{store_id}/thanks")
async def thanks_page(
    request: Request, store_id: str, source: str | None = None, campaign: str | None = None
) -> Response:
    form = _form(store_id, source, campaign, tablet=False)
    store = await _store(request, form.store_id) if form is not None else None
    if form is None or store is None:
        return _sorry(request, 404, NO_FORM)
    return _page(request, "capture_thanks.html", {"form": form, "store": store})


def _fields(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def _one(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[-1].strip()


def check_enquiry(
    fields: dict[str, list[str]], form: Form, store: FormStore
) -> tuple[Enquiry | None, dict[str, str]]:
    """The enquiry, or what is wrong with it, field by field, in words for the visitor."""
    errors: dict[str, str] = {}
    name, phone, email = _one(fields, "name"), _one(fields, "phone"), _one(fields, "email")
    message = _one(fields, "message")
    if not name:
        errors["name"] = "Please tell us your name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Please shorten your name to {MAX_NAME} characters."
    if not phone and not email:
        errors["phone"] = "Please give a phone number or an email address, so we can reply."
    if phone:
        try:
            normalise_phone(phone[:40], store.country)
        except InvalidField:
            errors["phone"] = (
                "That phone number does not look right. A number from another country "
                "needs its country code, such as +44."
            )
    normalised_email = None
    if email:
        try:
            normalised_email = normalise_email(email[:320])
        except ValueError:
            errors["email"] = "That email address does not look right (like name@example.com)."
    if len(message) > MAX_MESSAGE:
        errors["message"] = (
            f"Please keep your message under {MAX_MESSAGE:,} characters; we will ask the rest "
            "when we reply."
        )
    interest = _choice(fields, "interest", Segment, INTERESTS, errors)
    reply_by = _choice(fields, "reply_by", Channel, CONSENT_CHANNELS, errors)
    consented: list[Channel] = []
    for value in fields.get("consent", []):
        try:
            consented.append(Channel(value))
        except ValueError:
            errors["consent"] = "Please tick only the boxes on the form."
    for channel in {*consented, *([reply_by] if reply_by else [])}:
        needs_phone = channel is not Channel.EMAIL
        if (needs_phone and not phone) or (not needs_phone and not email):
            contact = "phone number" if needs_phone else "email address"
            key = "reply_by" if channel is reply_by else "consent"
            errors.setdefault(
                key, f"To hear from us by {CONSENT_CHANNELS[channel]}, please give your {contact}."
            )
    if errors:
        return None, errors
    return (
        Enquiry(
            store_id=store.id,
            source=form.source,
            campaign=form.campaign,
            tablet=form.tablet,
            name=name,
            phone=phone or None,
            email=normalised_email,
            message=message or None,
            interest=interest,
            reply_by=reply_by,
            consented=sorted(set(consented), key=list(CONSENT_CHANNELS).index),
        ),
        {},
    )


E = TypeVar("E", Segment, Channel)


def _choice(
    fields: dict[str, list[str]],
    name: str,
    kind: type[E],
    offered: dict[E, str],
    errors: dict[str, str],
) -> E | None:
    value = _one(fields, name)
    if not value:
        return None
    try:
        chosen = kind(value)
    except ValueError:
        chosen = None
    if chosen is None or chosen not in offered:
        errors[name] = "Please choose one of the options."
        return None
    return chosen


@router.post("/f/{store_id}")
async def send_enquiry(request: Request, store_id: str) -> Response:
    """A visitor sends the form: checked, then captured; thanked, or told what to fix."""
    try:
        branch = uuid.UUID(store_id)
    except ValueError:
        return _sorry(request, 404, NO_FORM)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > CAPTURE_MAX_BYTES:
        return _sorry(request, 413, "That was more than the form can take. Please shorten it.")
    body = await request.body()
    if len(body) > CAPTURE_MAX_BYTES:
        return _sorry(request, 413, "That was more than the form can take. Please shorten it.")
    address = request.client.host if request.client else "-"
    if not limits_of(request).admit(address, branch):
        response = _sorry(
            request, 429, "Too many enquiries at once. Please wait a minute and try again."
        )
        response.headers["Retry-After"] = "60"
        return response
    fields = _fields(body)
    form = form_of_token(request, branch, _one(fields, "token"))
    if form is None:
        return _sorry(
            request, 403, "This form has expired. Please reload the page and fill it in again."
        )
    store = await _store(request, branch)
    if store is None:
        return _sorry(request, 404, NO_FORM)
    done = form.path + "&done=1" if form.tablet else form.path.replace("?", "/thanks?", 1)
    if _one(fields, HONEYPOT):
        return RedirectResponse(done, status_code=303)  # a robot: thanked, nothing recorded
    enquiry, errors = check_enquiry(fields, form, store)
    if enquiry is None:
        values: dict[str, Any] = {name: _one(fields, name) for name in fields if name != "token"}
        values["consent"] = fields.get("consent", [])
        return _form_page(request, form, store, values=values, errors=errors, status=422)
    settings: Settings = request.app.state.settings
    reference = request.app.state.reference
    captured = await write_once(
        request, lambda db: forms.capture_enquiry(db, reference, settings, enquiry)
    )
    await tell(
        request,
        lambda client: handles.apply(client, settings.temporal_task_queue, captured.effects),
    )
    return RedirectResponse(done, status_code=303)


@router.get("/f/{store_id}/qr.{kind}")
async def qr_code(
    request: Request,
    store_id: str,
    kind: str,
    source: str | None = None,
    campaign: str | None = None,
    tablet: str | None = None,
) -> Response:
    """The form's full address as a QR code: SVG (any size, for print) or PNG."""
    form = _form(store_id, source or LeadSource.QR.value, campaign, tablet=tablet == "1")
    store = await _store(request, form.store_id) if form is not None else None
    if form is None or store is None or kind not in ("svg", "png"):
        return _sorry(request, 404, NO_FORM)
    image = qr_image(public_url(request, form.path), "svg" if kind == "svg" else "png")
    name = f"enquiry-{form.source.value}{'-' + form.campaign if form.campaign else ''}.{kind}"
    return Response(
        image,
        media_type="image/svg+xml" if kind == "svg" else "image/png",
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=3600",
        },
    )


def qr_image(url: str, kind: Literal["svg", "png"]) -> bytes:
    """`url` as a QR code (error correction M: still reads with a fold or a smudge)."""
    buffer = io.BytesIO()
    code = segno.make(url, error="m", micro=False)
    if kind == "svg":
        code.save(buffer, kind="svg", scale=8, border=4, title="Enquiry form")
    else:
        code.save(buffer, kind="png", scale=12, border=4)
    return buffer.getvalue()


# --- the staff page: every form of my branches -----------------------------------------------


@router.get("/console/capture")
async def capture_links(
    request: Request,
    branch: str | None = None,
    source: str | None = None,
    campaign: str | None = None,
) -> Response:
    """Each branch's forms with their addresses and QR codes; a form for a campaign on ask."""
    me = await person(request)
    allow(
        me.role in (ApiRole.ADMIN, ApiRole.MARKETING) or me.manages,
        "see the enquiry forms; ask a manager",
    )
    branches: list[FormStore] = await read(request, lambda db: forms.branches_of(db, me.actor))
    asked = None
    if campaign is not None and branches:
        chosen = branch if branch in {str(b.id) for b in branches} else str(branches[0].id)
        asked = _form(chosen, source, campaign.strip().lower(), tablet=False)
    listed = [
        (
            store,
            [
                (label, Form(store.id, kind, tablet=kind is LeadSource.WALK_IN))
                for kind, label in FORM_SOURCES.items()
            ],
        )
        for store in branches
    ]
    context = {
        "person": me,
        "branches": listed,
        "asked": asked,
        "asked_error": campaign is not None and asked is None,
        "sources": [(value.value, label) for value, label in FORM_SOURCES.items()],
        "campaign": campaign or "",
        "source": source or "",
        "branch": branch or "",
        "base": public_url(request, ""),
    }
    return render(request, "capture_links.html", context)
