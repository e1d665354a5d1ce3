"""API keys, stored as a SHA-256."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence as Seq

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

    def every(self) -> Seq[ApiKey]:
        """All keys, oldest first (revoked ones included: the record of who had access)."""
        return self.session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).all()

    def by_id_or_prefix(self, given: str) -> ApiKey | None:
        """The key with this id, or the one key with this shown prefix (fct_xxxxxxxx)."""
        try:
            return self.get(uuid.UUID(given))
        except ValueError:
            found = self.session.scalars(select(ApiKey).where(ApiKey.prefix == given)).all()
            return found[0] if len(found) == 1 else None
