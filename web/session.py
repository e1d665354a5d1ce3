"""The console's session: one signed, HttpOnly cookie holding a CSRF token and, once the
person has signed in, their account id and when they signed in.

The cookie is SameSite=Lax, and Secure when the request came over HTTPS. It carries no
personal data. Every form posts the CSRF token back; a post without the token of its session
is refused (403) before anything is read or changed.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from core.settings import Settings
from core.signing import sign, unsign

COOKIE = "facet_console"
LIFETIME = timedelta(hours=12)
MAX_FORM_BYTES = 64 * 1024
_PURPOSE = "console-session"


@dataclass(frozen=True)
class Visit:
    """What the cookie says: the CSRF token, and who signed in when (if anyone)."""

    csrf: str
    account_id: uuid.UUID | None = None
    signed_at: datetime | None = None
    fresh: bool = False  # not from the request's cookie: the response must set it


class FormRefused(Exception):
    """A form post that cannot be read: no CSRF token of this session (403) or too big (413)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _secret(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.secret_key.get_secret_value()


def now() -> datetime:
    return datetime.now(UTC)


def visit(request: Request) -> Visit:
    """The request's session, or a fresh anonymous one (with a new CSRF token)."""
    cached: Visit | None = getattr(request.state, "visit", None)
    if cached is not None:
        return cached
    payload = unsign(_secret(request), _PURPOSE, request.cookies.get(COOKIE, ""), now())
    found = Visit(csrf=secrets.token_urlsafe(24), fresh=True)
    if payload is not None and isinstance(payload.get("c"), str):
        found = Visit(csrf=payload["c"])
        if isinstance(payload.get("a"), str) and isinstance(payload.get("t"), int):
            found = Visit(
                csrf=payload["c"],
                account_id=uuid.UUID(payload["a"]),
                signed_at=datetime.fromtimestamp(payload["t"] / 1000, UTC),
            )
    request.state.visit = found
    return found


def signed_in(request: Request, account_id: uuid.UUID) -> Visit:
    """A new session for this account (and a new CSRF token: nothing carries over)."""
    fresh = Visit(
        csrf=secrets.token_urlsafe(24), account_id=account_id, signed_at=now(), fresh=True
    )
    request.state.visit = fresh
    return fresh


def signed_out(request: Request) -> Visit:
    fresh = Visit(csrf=secrets.token_urlsafe(24), fresh=True)
    request.state.visit = fresh
    return fresh


def keep(request: Request, response: Response) -> Response:
    """Set the cookie on the response when the session is new or changed."""
    current = visit(request)
    if not current.fresh:
        return response
    payload: dict[str, object] = {"c": current.csrf}
    if current.account_id is not None and current.signed_at is not None:
        payload["a"] = current.account_id.hex
        payload["t"] = int(current.signed_at.timestamp() * 1000)
    response.set_cookie(
        COOKIE,
        sign(_secret(request), _PURPOSE, payload, now() + LIFETIME),
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


def _too_large(request: Request) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise FormRefused(413, "That form was too large to read.")


def _check_token(request: Request, fields: dict[str, str]) -> None:
    current = visit(request)
    token = fields.get("csrf") or request.headers.get("x-csrf-token", "")
    if current.fresh or not hmac.compare_digest(token.encode(), current.csrf.encode()):
        raise FormRefused(
            403, "This form has expired or did not come from this page. Reload and try again."
        )


async def form(request: Request) -> dict[str, str]:
    """The posted form, once its CSRF token matches the session's."""
    _too_large(request)
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise FormRefused(413, "That form was too large to read.")
    fields = {
        name: values[-1]
        for name, values in parse_qs(
            body.decode("utf-8", "replace"), keep_blank_values=True
        ).items()
        if values
    }
    _check_token(request, fields)
    return fields


async def form_with_files(request: Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """A posted form that may carry a file (multipart), once its CSRF token matches the
    session's: its fields, and each file's bytes by field name (an empty file input: none)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await form(request), {}
    _too_large(request)
    posted = await request.form(max_files=2, max_fields=20, max_part_size=MAX_FORM_BYTES)
    fields = {name: value for name, value in posted.multi_items() if isinstance(value, str)}
    _check_token(request, fields)
    files: dict[str, bytes] = {}
    for name, value in posted.multi_items():
        if isinstance(value, UploadFile) and value.filename:
            files[name] = await value.read(MAX_FORM_BYTES + 1)
    await posted.close()
    return fields, files


async def form_with_upload(
    request: Request, *, field: str = "file"
) -> tuple[dict[str, str], UploadFile | None]:
    """A posted form carrying one large file (a CSV import), once its CSRF token matches the
    session's: its fields, and the file (spooled to disk as it arrived; the caller closes it
    with `close_upload`), or None for a plain form or an empty file input."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await form(request), None
    posted = await request.form(max_files=1, max_fields=20, max_part_size=MAX_FORM_BYTES)
    request.state.upload_form = posted
    fields = {name: value for name, value in posted.multi_items() if isinstance(value, str)}
    _check_token(request, fields)
    upload = posted.get(field)
    return fields, upload if isinstance(upload, UploadFile) and upload.filename else None


async def close_upload(request: Request) -> None:
    """Close what `form_with_upload` kept open (its spooled files)."""
    posted = getattr(request.state, "upload_form", None)
    if posted is not None:
        await posted.close()
