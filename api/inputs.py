"""What no route should have to parse, refused once for every route, before any route runs.

- A body larger than the configured limit answers 413 before it is read in full: by its
  Content-Length when it gives one, else (a chunked body) as soon as the bytes read pass it.
- A JSON body is parsed once here and refused with a 422 in FastAPI's validation shape,
  naming where, when it holds what no column can store and no answer can echo: a NUL
  character (PostgreSQL refuses it in text and JSON), a lone UTF-16 surrogate ("\\ud800",
  which cannot be encoded as UTF-8), a number that is not finite (NaN, Infinity), or nesting
  deeper than `MAX_DEPTH` (which would otherwise end in a RecursionError somewhere).
- A NUL in the path, the query string or a form field answers 422 the same way.

Bodies are at most a few dozen KiB, so buffering one and handing it on costs nothing a
client would notice; the route then reads the same bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Deeper than any body Facet defines (an event's payload included) and far from the
# interpreter's recursion limit.
MAX_DEPTH = 32

Location = list[str | int]


class Refusal(Exception):
    """An input refused before routing, with its status and FastAPI-shaped detail."""

    def __init__(self, status: int, detail: object) -> None:
        super().__init__(status)
        self.status = status
        self.detail = detail


def _invalid(loc: Location, message: str, kind: str) -> Refusal:
    return Refusal(422, [{"loc": loc, "msg": message, "type": kind}])


def _printable(text: str) -> str:
    """A key fit to be named in an answer: NUL and lone surrogates shown as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


NUL = ("must not contain a NUL character (\\u0000)", "string_nul")


def _too_deep(loc: Location) -> Refusal:
    return _invalid(loc, f"nested deeper than {MAX_DEPTH} levels", "too_deep")


def _string_problem(text: str) -> tuple[str, str] | None:
    if "\x00" in text:
        return NUL
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain a lone UTF-16 surrogate (e.g. \\ud800)", "string_unicode"
    return None


def _children(value: object, loc: Location) -> Iterator[tuple[object, Location]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield key, [*loc, _printable(key)]
            yield child, [*loc, _printable(key)]
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield child, [*loc, index]


def check_document(document: object, root: Location) -> None:
    """Raise a 422 `Refusal` at the first value of a parsed JSON document no route can keep."""
    stack: list[tuple[object, Location]] = [(document, root)]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                raise _invalid(loc, *problem)
        elif isinstance(value, float) and not math.isfinite(value):
            raise _invalid(loc, "must be a finite number", "finite_number")
        elif isinstance(value, dict | list):
            if len(loc) - len(root) >= MAX_DEPTH:
                raise _too_deep(loc)
            stack.extend(_children(value, loc))


def _parse_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except RecursionError as error:
        raise _too_deep(["body"]) from error
    except ValueError as error:  # JSONDecodeError, bad UTF-8, a number of 5,000 digits
        position = error.pos if isinstance(error, json.JSONDecodeError) else 0
        raise Refusal(
            422,
            [
                {
                    "loc": ["body", position],
                    "msg": "JSON decode error",
                    "type": "json_invalid",
                    "ctx": {"error": str(error).split(":")[0]},
                }
            ],
        ) from error


def check_signed_json(body: bytes) -> None:
    """The rules for a JSON body a route read itself, once its signature held.

    A body that is not JSON is left to the route, which says what it expected."""
    try:
        document = json.loads(body)
    except RecursionError as error:
        raise _too_deep(["body"]) from error
    except ValueError:
        return
    check_document(document, ["body"])


def check_text(pairs: list[tuple[str, str]], where: str) -> None:
    """Refuse a NUL in decoded query fields (their decoding never yields surrogates)."""
    for name, value in pairs:
        for text in (name, value):
            if "\x00" in text:
                raise _invalid([where, _printable(name)], *NUL)


def check_form(body: bytes) -> None:
    """Refuse a form field that is not UTF-8 (the nearest a form comes to a lone surrogate)
    or that holds a NUL."""
    raw = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    for name, value in raw:
        try:
            decoded = [text.encode("latin-1").decode("utf-8") for text in (name, value)]
        except UnicodeDecodeError as error:
            shown = name.encode("latin-1").decode("utf-8", "backslashreplace")
            raise _invalid(["body", shown], "must be UTF-8 text", "string_unicode") from error
        if any("\x00" in text for text in decoded):
            raise _invalid(["body", _printable(decoded[0])], *NUL)


class InputGuard:
    """ASGI middleware applying the module's rules; `limits` are (path prefix, bytes), the
    first prefix that matches wins, and `default_limit` covers every other path."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_limit: int,
        limits: tuple[tuple[str, int], ...] = (),
        signed_prefixes: tuple[str, ...] = (),
        streamed: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = limits
        # Routes that check a signature over the raw body first (a forged request is a 403
        # before anything is read): only the size is checked here; they call `check_signed_*`.
        self.signed_prefixes = signed_prefixes
        # Routes that stream a file (a CSV import) to disk as it arrives, (path prefix, bytes):
        # a body that is neither JSON nor a plain form has only its path, query and size
        # checked here, and is counted as the route reads it.
        self.streamed = streamed

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            streamed = self._streamed_limit(scope)
            if streamed is not None:
                self._check_head(scope, streamed)
                await self.app(scope, _counted(receive, streamed), send)
                return
            body = await self._checked(scope, receive)
        except Refusal as refusal:
            await _answer(send, refusal)
            return
        await self.app(scope, _replay(body, receive), send)

    def _streamed_limit(self, scope: Scope) -> int | None:
        """The limit of a file streamed to this path, or None when the body is read here."""
        content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip()
        if content_type.lower() in (b"application/json", b"application/x-www-form-urlencoded"):
            return None
        return next(
            (limit for prefix, limit in self.streamed if scope["path"].startswith(prefix)), None
        )

    def _check_head(self, scope: Scope, limit: int) -> None:
        """The path, the query and the declared size: all that is checked before a body."""
        if "\x00" in scope["path"]:
            raise _invalid(["path"], *NUL)
        query = scope.get("query_string", b"")
        if query:
            check_text(parse_qsl(query.decode("latin-1"), keep_blank_values=True), "query")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                raise Refusal(400, "Content-Length must be a number of bytes")
            if int(declared) > limit:
                raise _too_large(limit)

    async def _checked(self, scope: Scope, receive: Receive) -> bytes:
        if "\x00" in scope["path"]:
            raise _invalid(["path"], *NUL)
        query = scope.get("query_string", b"")
        if query:
            check_text(parse_qsl(query.decode("latin-1"), keep_blank_values=True), "query")
        headers = dict(scope["headers"])
        limit = self.limit_for(scope["path"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                raise Refusal(400, "Content-Length must be a number of bytes")
            if int(declared) > limit:
                raise _too_large(limit)
        body = await _read(receive, limit)  # chunked (no length) is counted as it comes
        if scope["path"].startswith(self.signed_prefixes):
            return body
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type == b"application/json" or content_type.endswith(b"+json"):
            if body.strip():
                check_document(_parse_json(body), ["body"])
        elif content_type == b"application/x-www-form-urlencoded":
            check_form(body)
        return body


def _too_large(limit: int) -> Refusal:
    return Refusal(413, f"the body is larger than {limit} bytes, the most this route accepts")


async def _read(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _counted(receive: Receive, limit: int) -> Receive:
    """`receive`, raising a 413 `Refusal` (answered by the app's handler) past `limit` bytes."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise _too_large(limit)
        return message

    return counted


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def answer_refusal(_request: Request, error: Exception) -> Response:
    """The exception handler for a `Refusal` a route raised (a signed body's check)."""
    assert isinstance(error, Refusal)
    return Response(_rendered(error), status_code=error.status, media_type="application/json")


def _rendered(refusal: Refusal) -> bytes:
    content: dict[str, Any] = {"detail": refusal.detail}
    return json.dumps(content, ensure_ascii=True).encode()


async def _answer(send: Send, refusal: Refusal) -> None:
    payload = _rendered(refusal)
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                # A body refused unread must not be taken for the next request.
                *([(b"connection", b"close")] if refusal.status == 413 else []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
