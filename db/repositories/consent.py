"""The consent ledger: lead × channel × purpose."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from collections.abc import Sequence as Seq
from datetime import datetime

from sqlalchemy import select

from core.vocabulary import ConsentStatus
from db.models import Consent
from db.repositories.base import Repository
from sequences.vocabulary import Channel, Purpose


class ConsentRepository(Repository[Consent]):
    model = Consent

    def grant(
        self,
        lead_id: uuid.UUID,
        channel: Channel,
        purpose: Purpose,
        *,
        source: str,
        evidence: str | None,
        at: datetime,
    ) -> Consent:
        """Record consent. A revoked row is granted again only by this explicit call."""
        (consent,) = self.grant_all(
            lead_id, [channel], purpose, source=source, evidence=evidence, at=at
        )
        return consent

    def grant_all(
        self,
        lead_id: uuid.UUID,
        channels: Iterable[Channel],
        purpose: Purpose,
        *,
        source: str,
        evidence: str | None,
        at: datetime,
        new_lead: bool = False,
    ) -> list[Consent]:
        """`grant` for several channels at once: one read of the ledger, one write.

        `new_lead`: the lead was created in this unit of work, so it has no ledger to read,
        and its rows are written with the rest of the unit of work (at its next flush).
        """
        wanted = list(dict.fromkeys(channels))
        if not wanted:
            return []
        existing = {
            consent.channel: consent
            for consent in (
                []
                if new_lead
                else self.session.scalars(
                    select(Consent).where(
                        Consent.lead_id == lead_id,
                        Consent.purpose == purpose,
                        Consent.channel.in_(wanted),
                    )
                )
            )
        }
        granted = []
        for channel in wanted:
            consent = existing.get(channel)
            if consent is None:
                consent = Consent(lead_id=lead_id, channel=channel, purpose=purpose)
                self.session.add(consent)
            consent.status = ConsentStatus.GRANTED
            consent.source = source
            consent.evidence = evidence
            consent.captured_at = at
            consent.revoked_at = None
            consent.revoked_via = None
            granted.append(consent)
        if not new_lead:
            self.session.flush()
        return granted

    def revoke(
        self, lead_id: uuid.UUID, channel: Channel, *, via: str, evidence: str | None, at: datetime
    ) -> bool:
        """Opt the lead out of every purpose on `channel`. True if anything changed.

        A lead who never consented still gets a revoked marketing row, so the STOP is on the
        ledger (and wins over any later implicit consent) until an explicit opt-in.
        """
        rows = self.session.scalars(
            select(Consent).where(Consent.lead_id == lead_id, Consent.channel == channel)
        ).all()
        if not rows:
            rows = [Consent(lead_id=lead_id, channel=channel, purpose=Purpose.MARKETING)]
            self.session.add(rows[0])
        changed = False
        for consent in rows:
            if consent.status is ConsentStatus.REVOKED:
                continue
            consent.status = ConsentStatus.REVOKED
            consent.source = consent.source or via
            consent.evidence = evidence if consent.evidence is None else consent.evidence
            consent.revoked_at = at
            consent.revoked_via = via
            changed = True
        self.session.flush()
        return changed

    def for_lead(self, lead_id: uuid.UUID) -> Seq[Consent]:
        return self.session.scalars(
            select(Consent).where(Consent.lead_id == lead_id).order_by(Consent.channel)
        ).all()

    def is_granted(self, lead_id: uuid.UUID, channel: Channel, purpose: Purpose) -> bool:
        status = self.session.scalar(
            select(Consent.status).where(
                Consent.lead_id == lead_id, Consent.channel == channel, Consent.purpose == purpose
            )
        )
        return status is ConsentStatus.GRANTED

    def allowed_channels(self, lead_id: uuid.UUID, purpose: Purpose) -> set[Channel]:
        """The channels the lead may be sent `purpose` on, read in one query.

        A STOP on a channel wins over every purpose on it; marketing also needs a grant for
        marketing, a transactional message only the absence of a STOP.
        """
        rows = self.session.execute(
            select(Consent.channel, Consent.purpose, Consent.status).where(
                Consent.lead_id == lead_id
            )
        ).all()
        stopped = {channel for channel, _, status in rows if status is ConsentStatus.REVOKED}
        if purpose is Purpose.TRANSACTIONAL:
            return set(Channel) - stopped
        granted = {
            channel
            for channel, given_for, status in rows
            if given_for is purpose and status is ConsentStatus.GRANTED
        }
        return granted - stopped
