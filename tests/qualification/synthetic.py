"""A synthetic history of leads whose true propensity only the tests know.

The hidden truth differs from the rules on purpose: store visits, repeat customers and
referrals matter most; product views and email opens (which the rules reward) do not.
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from db.instants import recount_where
from db.models import Event, Lead
from db.session import Database
from qualification.facts import LeadFacts, Signal

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def synthetic_history(n: int, seed: int) -> tuple[list[LeadFacts], list[datetime], list[int]]:
    """Leads, the moment their features are read, and whether they bought within 90 days.

    The hidden truth differs from the rules on purpose: store visits, repeat customers and
    referrals matter most; product views and email opens (which the rules reward) do not.
    """
    rng = random.Random(seed)
    leads, as_of, labels = [], [], []
    for i in range(n):
        captured = T0 + timedelta(hours=i)
        read_at = captured + timedelta(days=30)
        counts = {
            "store_visit": rng.choices([0, 1, 2], [0.6, 0.3, 0.1])[0],
            "product_view": rng.randint(0, 12),
            "email_opened": rng.randint(0, 8),
            "reply": rng.choices([0, 1], [0.7, 0.3])[0],
            "technical_question": rng.choices([0, 1], [0.8, 0.2])[0],
        }
        repeat = rng.random() < 0.15
        referral = rng.random() < 0.1
        signals = [
            Signal(kind=kind, at=captured + timedelta(days=rng.uniform(0, 29)))
            for kind, count in counts.items()
            for _ in range(count)
        ]
        log_odds = (
            -2.6
            + 1.6 * counts["store_visit"]
            + 1.8 * repeat
            + 1.4 * referral
            + 0.7 * counts["technical_question"]
            - 0.12 * counts["product_view"]
            - 0.1 * counts["email_opened"]
        )
        propensity = 1 / (1 + math.exp(-log_odds))
        leads.append(
            LeadFacts(
                captured_at=captured,
                source="referral" if referral else "web_form",
                repeat_customer=repeat,
                signals=tuple(signals),
            )
        )
        as_of.append(read_at)
        labels.append(int(rng.random() < propensity))
    return leads, as_of, labels


def _ordered_id(i: int) -> uuid.UUID:
    """A fresh id that sorts as the i-th: the refit reads leads in id order and holds out a
    seeded share of them, so with random ids which leads are held out changed on every run
    (and a test's verdict with it)."""
    return uuid.UUID(int=(i << 96) | (uuid.uuid4().int >> 32))


def write_history(database: Database, store_id: uuid.UUID, n: int, seed: int) -> list[int]:
    """The synthetic history as a store's rows: leads, their events, a purchase event for each
    buyer 40 days after capture. Returns the outcomes."""
    leads, _, labels = synthetic_history(n, seed)
    lead_rows, event_rows = [], []
    for i, (facts, label) in enumerate(zip(leads, labels, strict=True)):
        lead_id = _ordered_id(i)
        lead_rows.append(
            {
                "id": lead_id, "store_id": store_id, "source": facts.source,
                "created_at": facts.captured_at, "updated_at": facts.captured_at,
                "stage": "interest", "score_explanation": {}, "occasion_dates": {},
                "attributes": {"repeat_customer": True} if facts.repeat_customer else {},
            }
        )  # fmt: skip
        happened = [(s.kind, s.at) for s in facts.signals]
        if label:
            happened.append(("purchase", facts.captured_at + timedelta(days=40)))
        for kind, at in happened:
            event_rows.append(
                {
                    "id": uuid.uuid4(), "store_id": store_id, "lead_id": lead_id, "kind": kind,
                    "source": "synthetic", "payload": {}, "occurred_at": at, "recorded_at": at,
                    "idempotency_key": f"synthetic-{uuid.uuid4()}",
                }
            )  # fmt: skip

    def write(session: Session) -> None:
        session.execute(insert(Lead), lead_rows)
        session.execute(insert(Event), event_rows)
        # raw rows: the leads' kept instants are counted from them here
        recount_where(session.connection(), Lead.store_id == store_id)

    database.run(write)
    return labels
