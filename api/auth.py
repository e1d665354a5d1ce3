"""API keys: issued once, stored as a SHA-256, each with a role and an optional store scope."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from api.errors import forbidden
from core.vocabulary import ApiRole
from db.models import ApiKey
from db.repositories import ApiKeyRepository, hash_api_key
from db.session import Database

KEY_PREFIX = "fct"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name and role, and the store it is limited to (if any)."""

    key_id: uuid.UUID
    name: str
    role: ApiRole
    store_id: uuid.UUID | None
    staff_id: uuid.UUID | None

    def may_access_store(self, store_id: uuid.UUID) -> bool:
        return self.store_id is None or self.store_id == store_id

    def check_store(self, store_id: uuid.UUID) -> None:
        if not self.may_access_store(store_id):
            raise forbidden("this key is limited to another store")


def new_api_key() -> str:
    """A fresh key: `fct_<8 char id>_<secret>`; the id part is safe to show in listings."""
    return f"{KEY_PREFIX}_{secrets.token_hex(4)}_{secrets.token_urlsafe(24)}"


def issue_api_key(
    database: Database,
    *,
    name: str,
    role: ApiRole,
    store_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
) -> str:
    """Store a new key's hash and return the key itself, which is never stored."""
    key = new_api_key()
    database.run(
        lambda session: ApiKeyRepository(session).add(
            ApiKey(
                name=name,
                role=role,
                key_hash=hash_api_key(key),
                prefix=key[: len(KEY_PREFIX) + 9],
                store_id=store_id,
                staff_id=staff_id,
            )
        )
    )
    return key


class _PrincipalCache:
    """Recently seen keys, so a busy till does not cost a query per request (10 s at most)."""

    ttl_seconds = 10.0

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> Principal | None:
        with self._lock:
            entry = self._entries.get(key_hash)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key_hash: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key_hash] = (time.monotonic() + self.ttl_seconds, principal)


_cache = _PrincipalCache()


def _presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


async def authenticate(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    """The caller's key, from `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    key = _presented_key(authorization, x_api_key)
    if not key:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    key_hash = hash_api_key(key)
    principal = _cache.get(key_hash)
    if principal is None:
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
        principal = Principal(row.id, row.name, row.role, row.store_id, row.staff_id)
        _cache.put(key_hash, principal)
    return principal


def require_roles(*roles: ApiRole) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting keys of these roles (admin is always admitted)."""
    allowed = {ApiRole.ADMIN, *roles}
    names = ", ".join(sorted(role.value for role in allowed))

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            raise forbidden(f"this route needs a key with role {names}; yours is {principal.role}")
        return principal

    return check
