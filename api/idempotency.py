"""`Idempotency-Key` on the POST routes that create something: a retry gets the first answer.

A client that is not sure its request arrived (a form's retry, a lead-ad re-sync, a till on a
bad line) sends it again with the same `Idempotency-Key` header. The first request claims the
key (a unique row, so of twenty concurrent copies exactly one runs); the others wait for its
answer and return it, same status and body, with `Idempotent-Replayed: true`. The same key with
another body is a 409 naming the conflict. Keys belong to the API key that sent them and are
kept for `KEPT`.

Only answers that changed something (2xx) are kept: a refused request changed nothing, so its
key is released and a corrected request may use it. A request whose process died mid-way
leaves a claim that a retry takes over after `ABANDONED`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends as DependsParam
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from api.auth import caller_key_hash
from db.repositories import IdempotentRequestRepository
from db.session import Database
from db.types import utcnow

HEADER = "Idempotency-Key"
KEPT = timedelta(hours=24)
ABANDONED = timedelta(seconds=60)
WAIT_SECONDS = 30.0  # how long a retry waits for its twin's answer
POLL_SECONDS = 0.05
MAX_KEY_LENGTH = 255

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


async def _documented(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            max_length=MAX_KEY_LENGTH,
            description="Send the same key again (with the same body) to get the first "
            "answer instead of doing it twice; kept 24 hours, per API key",
        ),
    ] = None,
) -> None:
    """Puts the header in the OpenAPI description; `IdempotentRoute` does the work."""


def _header_problem(message: str) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"loc": ["header", HEADER], "msg": message, "type": "value_error"}]},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def _conflict(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status.HTTP_409_CONFLICT)


def _valid(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all(0x21 <= ord(c) <= 0x7E for c in key)


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests the same: method, path, query and body (JSON compared as data,
    so key order and spacing do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body
    digest = hashlib.sha256(f"{method} {path}?{query}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def _replay(status_code: int, media_type: str | None, body: str) -> Response:
    return Response(
        content=body.encode(),
        status_code=status_code,
        media_type=media_type,
        headers={"Idempotent-Replayed": "true"},
    )


async def answer_once(request: Request, handler: Handler) -> Response:
    """Run `handler` once per (API key, Idempotency-Key); replay its answer to the others."""
    key = request.headers.get(HEADER)
    if key is None:  # most requests: nothing to remember, not even the caller's key hash
        return await handler(request)
    scope = caller_key_hash(request)
    if scope is None:  # no caller: the route answers (401) as ever
        return await handler(request)
    if not _valid(key):
        return _header_problem(
            f"must be 1 to {MAX_KEY_LENGTH} visible ASCII characters (e.g. a UUID)"
        )
    database: Database = request.app.state.database
    mark = fingerprint(request.method, request.url.path, request.url.query, await request.body())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        claimed = await run_in_threadpool(database.run, lambda s: _claim(s, scope, key, mark))
        if isinstance(claimed, Response):
            return claimed
        if claimed is not None:
            return await _answer(request, handler, database, claimed)
        # A twin is answering: watch for its answer without taking SQLite's write lock.
        while True:
            if loop.time() > deadline:
                return _conflict(
                    f"a request with this {HEADER} is still being answered; send it again shortly"
                )
            await asyncio.sleep(POLL_SECONDS)
            seen = await run_in_threadpool(database.read, lambda s: _look(s, scope, key, mark))
            if seen is not None:
                break
        if isinstance(seen, Response):
            return seen


_CLAIM_AGAIN = "claim again"


def _look(session: Any, scope: str, key: str, mark: str) -> Response | str | None:
    """What became of a twin's claim: its answer (or a conflict), `_CLAIM_AGAIN` (released or
    abandoned), or None (still being answered)."""
    found = IdempotentRequestRepository(session).find(scope, key)
    if found is None:
        return _CLAIM_AGAIN
    if found.fingerprint != mark:
        return _conflict(_REUSED)
    if found.status_code is not None:
        return _replay(found.status_code, found.media_type, found.response_body or "")
    if found.created_at < utcnow() - ABANDONED:
        return _CLAIM_AGAIN
    return None


_REUSED = (
    f"this {HEADER} was already used for a different request (another body or route); "
    "use a new key for a new request"
)


def _claim(session: Any, scope: str, key: str, mark: str) -> Any:
    """The claim's row id (ours to answer), a Response (the first answer, or a conflict), or
    None (a twin is answering it: wait)."""
    requests = IdempotentRequestRepository(session)
    now = utcnow()
    claimed = requests.claim(scope, key, mark, now=now, kept_since=now - KEPT)
    if claimed is not None:
        return claimed
    found = requests.find(scope, key)
    if found is None:  # released between our insert and read: wait a moment, then again
        return None
    if found.fingerprint != mark:
        return _conflict(_REUSED)
    if found.status_code is not None:
        return _replay(found.status_code, found.media_type, found.response_body or "")
    if requests.take_over(found.id, mark, now=now, abandoned_before=now - ABANDONED):
        return found.id
    return None


async def _answer(request: Request, handler: Handler, database: Database, row_id: Any) -> Response:
    kept = False
    try:
        response = await handler(request)
        body = getattr(response, "body", None)
        if 200 <= response.status_code < 300 and isinstance(body, bytes):
            text = body.decode()
            await run_in_threadpool(
                database.run,
                lambda s: IdempotentRequestRepository(s).answer(
                    row_id,
                    status_code=response.status_code,
                    media_type=response.media_type,
                    body=text,
                    at=utcnow(),
                ),
            )
            kept = True
        return response
    finally:
        if not kept:
            # Even when the client went away (cancelled): the key must not stay claimed.
            await asyncio.shield(
                run_in_threadpool(
                    database.run, lambda s: IdempotentRequestRepository(s).release(row_id)
                )
            )


class IdempotentRoute(APIRoute):
    """A route class for routers whose POSTs create something: they honour Idempotency-Key."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        dependencies: Sequence[DependsParam] | None = None,
        methods: set[str] | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if methods and "POST" in {m.upper() for m in methods}:
            dependencies = [*(dependencies or []), Depends(_documented)]
        super().__init__(path, endpoint, dependencies=dependencies, methods=methods, **kwargs)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if "POST" not in (self.methods or set()):
            return handler

        async def idempotent(request: Request) -> Response:
            return await answer_once(request, handler)

        return idempotent
