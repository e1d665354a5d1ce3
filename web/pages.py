"""What every page shares: the templates, who is signed in, and the console's refusals."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from db.session import Database
from domain import accounts
from domain.accounts import Person
from domain.errors import Conflict, DomainError, InvalidField, NotAllowed, NotFound, OutsideBranch
from domain.leads import spoken_phone
from web import session

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")


def _relative(when: datetime | None, now: datetime | None = None) -> str:
    """ "in 2 h 5 min", "4 min ago": how far away a time is, the way a person says it."""
    if when is None:
        return ""
    seconds = int((when - (now or session.now())).total_seconds())
    minutes = abs(seconds) // 60
    if minutes < 1:
        return "just now"
    if minutes < 60:
        spoken = f"{minutes} min"
    elif minutes < 48 * 60:
        spoken = f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"
    else:
        spoken = f"{minutes // 1440} days"
    return f"in {spoken}" if seconds >= 0 else f"{spoken} ago"


templates.env.filters["relative"] = _relative
templates.env.filters["spoken_phone"] = spoken_phone


class SignInNeeded(Exception):
    """No session: a page sends the person to sign in and back; an action is refused."""


class Refused(Exception):
    """The console says no, as a page: the status and a sentence a person can act on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def database(request: Request) -> Database:
    found: Database = request.app.state.database
    return found


async def person(request: Request) -> Person:
    """The signed-in person (checked against the database on every request)."""
    current = session.visit(request)
    if current.account_id is None or current.signed_at is None:
        raise SignInNeeded()
    account_id, signed_at = current.account_id, current.signed_at
    found = await run_in_threadpool(
        database(request).read, lambda db: accounts.person(db, account_id, signed_at)
    )
    if found is None:
        raise SignInNeeded()
    return found


def optional_uuid(value: str | None) -> uuid.UUID | None:
    """A form's or query's id, or None when it is blank or not an id."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def allow(permitted: bool, what: str) -> None:
    if not permitted:
        raise Refused(403, f"Your role does not allow you to {what}.")


def sentence(text: str) -> str:
    """A domain message as a sentence on a page: a capital first letter and a full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


def refusal(error: DomainError) -> Refused:
    """A domain refusal as the console answers it. Another branch's thing is not found."""
    if isinstance(error, NotFound | OutsideBranch):
        return Refused(404, "There is nothing here, or it belongs to another branch.")
    if isinstance(error, NotAllowed):
        return Refused(403, sentence(str(error)))
    if isinstance(error, InvalidField):
        return Refused(422, sentence(error.message))
    if isinstance(error, Conflict):
        return Refused(409, sentence(str(error)))
    return Refused(400, str(error))


# Pages load only what this app serves (the browser refuses anything else), are never framed,
# and send no Referer elsewhere: a notice link's token stays in this app.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    current = session.visit(request)
    response = templates.TemplateResponse(
        request,
        name,
        {"csrf": current.csrf, **(context or {})},
        status_code=status,
        headers=PAGE_HEADERS,
    )
    return session.keep(request, response)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def problem(request: Request, status: int, message: str, who: Person | None = None) -> Response:
    """A refusal: in place (the page's notice area) for htmx, else as a page of its own."""
    if is_htmx(request):
        response = render(request, "_notice.html", {"message": message, "tone": "bad"}, status)
        response.headers["HX-Retarget"] = "#notice"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "problem.html", {"message": message, "person": who}, status)


def to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if is_htmx(request):
        return session.keep(request, HTMLResponse("", headers={"HX-Redirect": "/console/sign-in"}))
    return back_to(request, f"/console/sign-in?next={quote(target)}")


def back_to(request: Request, path: str) -> Response:
    return session.keep(request, RedirectResponse(path, status_code=303))
