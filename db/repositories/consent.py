"""The consent ledger (append-only records) and the state now, lead × channel × purpose."""

from __future__ import annotations

import uuid
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from core.vocabulary import ConsentStatus
from db.models import Consent, ConsentRecord
from db.repositories.base import Repository
from sequences.vocabulary import Channel, Purpose


@dataclass(frozen=True)
class Capture:
    """Who recorded a consent change, where, with what proof, and when the person did it."""

    source: str  # instagram, whatsapp:keyword, one_click_unsubscribe, …
    captured_by: str  # form, staff, webhook, link, provider
    evidence: str | None  # the wording shown, or what the person sent
    given_at: datetime
    captured_by_name: str | None = None  # the member of staff, when a person recorded it


class ConsentRepository(Repository[Consent]):
    model = Consent

    def states(self, lead_id: uuid.UUID) -> dict[tuple[Channel, Purpose], Consent]:
        """The state now of each (channel, purpose) the lead has a record for: one query."""
        return {
            (row.channel, row.purpose): row
            for row in self.session.scalars(select(Consent).where(Consent.lead_id == lead_id))
        }

    def append(
        self,
        lead_id: uuid.UUID,
        channel: Channel,
        purpose: Purpose,
        status: ConsentStatus,
        capture: Capture,
        *,
        now: Consent | None,
    ) -> ConsentRecord:
        """Add a record to the ledger and make it the state now (`now`: the state row, if the
        lead has one for this channel and purpose). Nothing is flushed: the unit of work
        writes it, after a lead created in it."""
        record = ConsentRecord(
            lead_id=lead_id,
            channel=channel,
            purpose=purpose,
            status=status,
            source=capture.source[:64],
            captured_by=capture.captured_by,
            captured_by_name=capture.captured_by_name,
            evidence=capture.evidence,
            given_at=capture.given_at,
        )
        self.session.add(record)
        if now is None:
            now = Consent(id=uuid.uuid4(), lead_id=lead_id, channel=channel, purpose=purpose)
            self.session.add(now)
        now.status = status
        if status is ConsentStatus.GRANTED:
            now.source = capture.source[:64]
            now.evidence = capture.evidence
            now.captured_at = capture.given_at
            now.revoked_at = None
            now.revoked_via = None
        else:
            now.source = now.source or capture.source[:64]
            now.captured_at = now.captured_at or capture.given_at
            now.revoked_at = capture.given_at
            now.revoked_via = capture.source[:64]
        return record

    def grant(
        self,
        lead_id: uuid.UUID,
        channel: Channel,
        purpose: Purpose,
        *,
        source: str,
        evidence: str | None,
        at: datetime,
    ) -> ConsentRecord:
        """Record a grant as given on a form (for tests and seeding; rules live in the domain)."""
        now = self.states(lead_id).get((channel, purpose))
        record = self.append(
            lead_id,
            channel,
            purpose,
            ConsentStatus.GRANTED,
            Capture(source=source, captured_by="form", evidence=evidence, given_at=at),
            now=now,
        )
        self.session.flush()
        return record

    def for_lead(self, lead_id: uuid.UUID) -> Seq[Consent]:
        return self.session.scalars(
            select(Consent)
            .where(Consent.lead_id == lead_id)
            .order_by(Consent.channel, Consent.purpose)
        ).all()

    def history(self, lead_id: uuid.UUID) -> Seq[ConsentRecord]:
        """Every grant and revocation of the lead, oldest first."""
        return self.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.lead_id == lead_id)
            .order_by(ConsentRecord.seq)
        ).all()

    def move_history(self, source: uuid.UUID, target: uuid.UUID) -> None:
        """Give `target` the ledger of `source` (a merge; the state rows are merged apart)."""
        self.session.execute(
            update(ConsentRecord).where(ConsentRecord.lead_id == source).values(lead_id=target)
        )

    def is_granted(self, lead_id: uuid.UUID, channel: Channel, purpose: Purpose) -> bool:
        status = self.session.scalar(
            select(Consent.status).where(
                Consent.lead_id == lead_id, Consent.channel == channel, Consent.purpose == purpose
            )
        )
        return status is ConsentStatus.GRANTED
