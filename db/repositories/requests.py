"""Idempotent requests: a POST's key, its fingerprint and its first answer."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update

from db.models import IdempotentRequest
from db.repositories.base import Repository, insert_ignoring_conflicts


class IdempotentRequestRepository(Repository[IdempotentRequest]):
    model = IdempotentRequest

    def find(self, scope: str, key: str) -> IdempotentRequest | None:
        return self.session.scalars(
            select(IdempotentRequest).where(
                IdempotentRequest.scope == scope, IdempotentRequest.key == key
            )
        ).first()

    def claim(
        self, scope: str, key: str, fingerprint: str, *, now: datetime, kept_since: datetime
    ) -> uuid.UUID | None:
        """Claim the key for a request being answered now: the new row's id, or None if the
        key is held (answered, or being answered). Rows from before `kept_since` are
        forgotten first, so an expired key starts afresh."""
        self.session.execute(
            delete(IdempotentRequest).where(IdempotentRequest.created_at < kept_since)
        )
        values = {
            "id": uuid.uuid4(),
            "scope": scope,
            "key": key,
            "fingerprint": fingerprint,
            "created_at": now,
        }
        claimed: uuid.UUID | None = self.session.execute(
            insert_ignoring_conflicts(self.session, IdempotentRequest, values).returning(
                IdempotentRequest.id
            )
        ).scalar()
        return claimed

    def take_over(
        self, row_id: uuid.UUID, fingerprint: str, *, now: datetime, abandoned_before: datetime
    ) -> bool:
        """Claim a row whose request was never answered (its process died) for a new attempt."""
        taken = self.session.execute(
            update(IdempotentRequest)
            .where(
                IdempotentRequest.id == row_id,
                IdempotentRequest.status_code.is_(None),
                IdempotentRequest.created_at < abandoned_before,
            )
            .values(created_at=now, fingerprint=fingerprint)
        )
        return bool(getattr(taken, "rowcount", 0))

    def answer(
        self,
        row_id: uuid.UUID,
        *,
        status_code: int,
        media_type: str | None,
        body: str,
        at: datetime,
    ) -> None:
        self.session.execute(
            update(IdempotentRequest)
            .where(IdempotentRequest.id == row_id)
            .values(
                status_code=status_code, media_type=media_type, response_body=body, completed_at=at
            )
        )

    def release(self, row_id: uuid.UUID) -> None:
        """Forget a claim whose request changed nothing (refused, or failed): a retry runs anew."""
        self.session.execute(
            delete(IdempotentRequest).where(
                IdempotentRequest.id == row_id, IdempotentRequest.status_code.is_(None)
            )
        )
