"""API keys: issued once, stored as a SHA-256, each with a role and an optional store scope.

A key authenticates as a domain `Actor`; what an actor may see and do is the domain's rule,
the same for a key and (later) a person signed in to the console.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.errors import forbidden
from core.recent import Recent
from core.vocabulary import ApiRole
from db.repositories import ApiKeyRepository, hash_api_key
from db.session import Database
from domain import keys
from domain.access import Actor


def issue_api_key(
    database: Database,
    *,
    name: str,
    role: ApiRole,
    store_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
) -> str:
    """Store a new key's hash and return the key itself, which is never stored."""
    issued = database.run(
        lambda session: keys.issue(
            session, name=name, role=role, store_id=store_id, staff_id=staff_id
        )
    )
    return issued.key


# Recently seen keys, so a busy till does not cost a query per request (10 s at most).
PRINCIPAL_SECONDS = 10.0


def actor_cache() -> Recent[str, Actor]:
    """The app's memory of keys it saw a moment ago (create_app makes one per app)."""
    return Recent(PRINCIPAL_SECONDS, limit=10_000)


# Declared as OpenAPI security schemes, not header parameters: documentation and clients
# (and fuzzers) then know them for credentials, never for fields to fill with data.
bearer_key = HTTPBearer(
    scheme_name="bearerKey",
    description="An API key: `Authorization: Bearer fct_…` (`python -m api.keys create`)",
    auto_error=False,
)
header_key = APIKeyHeader(
    name="X-API-Key",
    scheme_name="headerKey",
    description="The same API key in an `X-API-Key` header, for clients that cannot set Bearer",
    auto_error=False,
)


async def authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_key)],
    x_api_key: Annotated[str | None, Depends(header_key)],
) -> Actor:
    """The caller's key, from `Authorization: Bearer <key>` or else `X-API-Key: <key>`."""
    key = _presented_key(bearer.credentials if bearer else None, x_api_key)
    if not key:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    cache: Recent[str, Actor] = request.app.state.actors
    key_hash = hash_api_key(key)
    actor = cache.get(key_hash, lambda: None)  # seen a moment ago? (the read is off the loop)
    if actor is None:
        database: Database = request.app.state.database
        row = await run_in_threadpool(
            database.read, lambda session: ApiKeyRepository(session).by_key(key)
        )
        if row is None:
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="unknown or revoked API key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        found = Actor(row.id, row.name, row.role, row.store_id, row.staff_id)
        actor = cache.value(key_hash, lambda: found)
    return actor


def require_roles(*roles: ApiRole) -> Callable[..., Awaitable[Actor]]:
    """A dependency admitting keys of these roles (admin is always admitted)."""
    allowed = {ApiRole.ADMIN, *roles}
    names = ", ".join(sorted(role.value for role in allowed))

    async def check(actor: Annotated[Actor, Depends(authenticate)]) -> Actor:
        if actor.role not in allowed:
            raise forbidden(f"this route needs a key with role {names}; yours is {actor.role}")
        return actor

    return check


def _presented_key(bearer: str | None, x_api_key: str | None) -> str:
    """The key a request presents: the Bearer one when both are sent."""
    return (bearer or "").strip() or (x_api_key or "").strip()


def caller_key_hash(request: Request) -> str | None:
    """The SHA-256 of the key the request presents (not yet checked), or None without one."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = credentials if scheme.lower() == "bearer" else None
    key = _presented_key(bearer, request.headers.get("x-api-key"))
    return hash_api_key(key) if key else None
