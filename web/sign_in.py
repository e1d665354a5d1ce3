"""Signing in and out, and setting the first password from an invite link."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from core.settings import Settings
from db.models import StaffAccount
from domain import accounts
from domain.errors import DomainError, InvalidField
from web import session
from web.pages import back_to, database, person, problem, render, sentence
from web.throttle import SignInThrottle

router = APIRouter(prefix="/console", include_in_schema=False)

THROTTLED = "Too many wrong passwords. Wait a minute, then try again."


def _next(target: str | None) -> str:
    """Where to go after signing in: a console page, never another site."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console"


def _secret(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.secret_key.get_secret_value()


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form."""
    return render(request, "sign_in.html", {"next": _next(next), "email": ""})


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Check the email and password (throttled per email and per address)."""
    fields = await session.form(request)
    email = fields.get("email", "").strip().lower()
    target = _next(fields.get("next"))
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    keys = (f"email:{email}", f"address:{request.client.host if request.client else '-'}")
    if throttle.refused(*keys):
        return render(
            request, "sign_in.html", {"next": target, "email": email, "error": THROTTLED}, 429
        )
    password = fields.get("password", "")
    account = await run_in_threadpool(
        database(request).run, lambda db: accounts.check_password(db, email, password)
    )
    if account is None:
        throttle.failed(*keys)
        error = "That email and password do not match an account."
        return render(
            request, "sign_in.html", {"next": target, "email": email, "error": error}, 401
        )
    session.signed_in(request, account.id)
    return back_to(request, target)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """Sign out: every session of this person ends, on every device."""
    await session.form(request)
    me = await person(request)
    now = session.now()
    await run_in_threadpool(
        database(request).run, lambda db: accounts.sign_out_everywhere(db, me.account_id, now)
    )
    session.signed_out(request)
    return back_to(request, "/console/sign-in")


@router.get("/invite/{token}")
async def invite_page(request: Request, token: str) -> Response:
    """The form to choose a first password."""
    secret, now = _secret(request), session.now()
    try:
        account = await run_in_threadpool(
            database(request).read, lambda db: accounts.invited(db, secret, token, now)
        )
    except accounts.InvalidInvite as error:
        return problem(request, 410, sentence(str(error)))
    return render(request, "invite.html", {"token": token, "email": account.email})


@router.post("/invite/{token}")
async def set_first_password(request: Request, token: str) -> Response:
    """Set the first password; the link is used up and the person is signed in."""
    fields = await session.form(request)
    password, again = fields.get("password", ""), fields.get("again", "")
    secret, now = _secret(request), session.now()

    def use(db: Session) -> StaffAccount:
        if password != again:
            raise InvalidField("again", "the two passwords differ")
        return accounts.set_first_password(db, secret, token, password, now)

    try:
        account = await run_in_threadpool(database(request).run, use)
    except accounts.InvalidInvite as error:
        return problem(request, 410, sentence(str(error)))
    except DomainError as error:
        message = error.message if isinstance(error, InvalidField) else str(error)
        email = await run_in_threadpool(
            database(request).read, lambda db: accounts.invited(db, secret, token, now).email
        )
        context = {"token": token, "email": email, "error": sentence(message)}
        return render(request, "invite.html", context, 422)
    session.signed_in(request, account.id)
    return back_to(request, "/console")
