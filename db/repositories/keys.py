"""API keys, stored as a SHA-256."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from db.models import ApiKey
from db.repositories.base import Repository


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey

    def by_key(self, key: str) -> ApiKey | None:
        return self.session.scalars(
            select(ApiKey).where(ApiKey.key_hash == hash_api_key(key), ApiKey.revoked_at.is_(None))
        ).first()
