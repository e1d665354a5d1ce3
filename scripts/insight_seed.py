"""Deterministic activity for the insight metrics: leads, events, messages, tasks, sales.

`seed_activity(connection, store_id, staff_ids, leads=…, messages_per_lead=…, seed=…)` writes
rows with Core `insert(...)` executemany in chunks (100,000 leads and 1,000,000 messages in
well under a minute on SQLite), every id and instant drawn from `random.Random(seed)`, so
the same call gives the same rows on SQLite and PostgreSQL. Used by the registry tests, the
bench and (for demos) anyone who needs a store with history.

Names are invented and harmless; one lead in each seed is named `=HYPERLINK("x")` so CSV
exports are always tried against a formula.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, insert

from core.vocabulary import JourneyStatus, Stage, TaskStatus, TouchStatus
from db.instants import recount_where
from db.models import Enrollment, Event, Lead, Purchase, SequenceVersion, Task, Touch

SOURCES = ("instagram", "web_form", "walk_in", "whatsapp", "qr", "referral")
SEGMENTS = ("bridal", "engagement", "gifting", "anniversary", "custom_design", None)
SEQUENCES = ("engagement_ring", "bridal_set", "gifting")
CHUNK = 20_000
FORMULA_NAME = '=HYPERLINK("x")'


@dataclass(frozen=True)
class Seeded:
    """How many rows of each kind were written."""

    leads: int
    events: int
    touches: int
    tasks: int
    purchases: int
    enrollments: int


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _at(start: datetime, rng: random.Random, days: float) -> datetime:
    # whole seconds: both databases keep microseconds, but a round instant reads better
    return start + timedelta(seconds=int(rng.random() * days * 86_400))


def seed_activity(
    connection: Connection,
    store_id: uuid.UUID,
    staff_ids: Sequence[uuid.UUID],
    *,
    start: datetime,
    days: int,
    leads: int,
    messages_per_lead: int = 4,
    seed: int = 17,
) -> Seeded:
    """Write `leads` leads created over `days` days from `start`, with their history."""
    rng = random.Random(seed)
    # Ids come from their own generator, keyed by the store too: the same seed in another
    # store (or database) gives the same history under new ids, and never a clash.
    ids = random.Random(f"{store_id}:{seed}")
    versions = _sequence_versions(connection, ids, start)
    tables: dict[str, list[dict[str, Any]]] = {
        "lead": [],
        "event": [],
        "touch": [],
        "task": [],
        "purchase": [],
        "enrollment": [],
    }
    counts = dict.fromkeys(tables, 0)

    def flush(force: bool = False) -> None:
        # All tables at once, parents first: a message is never written before its lead.
        if not force and all(len(rows) < CHUNK for rows in tables.values()):
            return
        for name in ("lead", "enrollment", "event", "touch", "task", "purchase"):
            rows = tables[name]
            if rows:
                connection.execute(insert(_TABLES[name]), rows)
                counts[name] += len(rows)
                rows.clear()

    for number in range(leads):
        lead_id = _uuid(ids)
        created = _at(start, rng, days)
        owner = rng.choice(staff_ids) if rng.random() < 0.8 else None
        bought = rng.random() < 0.12
        stage = Stage.PURCHASE if bought else rng.choice([Stage.INTEREST, Stage.CONSIDERATION])
        tables["lead"].append(
            {
                "id": lead_id,
                "store_id": store_id,
                "first_name": FORMULA_NAME if number == 0 else f"Lead{number}",
                "last_name": "Test",
                "email": f"lead{number}.{seed}@example.test",
                "source": rng.choice(SOURCES),
                "segment": rng.choice(SEGMENTS),
                "stage": stage,
                "owner_id": owner,
                "budget_band": rng.choice(["entry", "mid", "high", None]),
                "score_explanation": {},
                "occasion_dates": {},
                "metals": [],
                "stones": [],
                "styles": [],
                "interests": [],
                "attributes": {},
                "created_at": created,
                "updated_at": created,
            }
        )
        enrollment_id: uuid.UUID | None = None
        key: str | None = None
        if rng.random() < 0.85:
            enrollment_id = _uuid(ids)
            key = rng.choice(SEQUENCES)
            tables["enrollment"].append(
                {
                    "id": enrollment_id,
                    "lead_id": lead_id,
                    "sequence_version_id": versions[key],
                    "sequence_key": key,
                    "workflow_id": f"journey:{lead_id}:{key}",
                    "status": JourneyStatus.CONVERTED if bought else JourneyStatus.ACTIVE,
                    "started_at": created + timedelta(seconds=1),
                    "ended_at": None,
                }
            )
        for kind, at in _events(rng, created, bought):
            tables["event"].append(
                {
                    "id": _uuid(ids),
                    "store_id": store_id,
                    "lead_id": lead_id,
                    "kind": kind,
                    "source": "seed",
                    "payload": {},
                    "occurred_at": at,
                    "recorded_at": at,
                    "idempotency_key": f"seed:{seed}:{number}:{len(tables['event'])}:{kind}",
                }
            )
        for step in range(messages_per_lead):
            journey = (enrollment_id, key)
            tables["touch"].append(
                _touch(rng, _uuid(ids), store_id, lead_id, journey, created, step)
            )
        if rng.random() < 0.5:
            tables["task"].append(_task(rng, _uuid(ids), store_id, lead_id, created, staff_ids))
        if bought:
            at = created + timedelta(seconds=rng.randint(3_600, 60 * 86_400))
            tables["purchase"].append(
                {
                    "id": _uuid(ids),
                    "store_id": store_id,
                    "lead_id": lead_id,
                    "pos_transaction_id": f"seed-{seed}-{number}",
                    "amount_minor": rng.randint(5_000, 500_000) * 100,
                    "currency": "INR",
                    "items": [],
                    "associate_id": owner,
                    "purchased_at": at,
                    "converted_journeys": [],
                    "created_at": at,
                }
            )
            if enrollment_id is not None:
                tables["enrollment"][-1]["ended_at"] = at
        flush()
    flush(force=True)
    # Raw rows pass by what keeps each lead's instants as rows are written: count them here.
    recount_where(connection, Lead.store_id == store_id)
    return Seeded(
        counts["lead"],
        counts["event"],
        counts["touch"],
        counts["task"],
        counts["purchase"],
        counts["enrollment"],
    )


def _events(rng: random.Random, created: datetime, bought: bool) -> Iterator[tuple[str, datetime]]:
    yield "captured", created
    if rng.random() < 0.4:
        yield "reply", created + timedelta(seconds=rng.randint(60, 20 * 86_400))
    if rng.random() < 0.2:
        booked = created + timedelta(seconds=rng.randint(600, 10 * 86_400))
        yield "appointment_booked", booked
        if rng.random() < 0.6:
            yield "store_visit", booked + timedelta(seconds=rng.randint(3_600, 3 * 86_400))
    if rng.random() < 0.03:
        yield "opted_out", created + timedelta(seconds=rng.randint(600, 30 * 86_400))


_STATUSES = [
    (TouchStatus.DELIVERED, 45),
    (TouchStatus.OPENED, 15),
    (TouchStatus.CLICKED, 5),
    (TouchStatus.REPLIED, 5),
    (TouchStatus.SENT, 10),
    (TouchStatus.FAILED, 4),
    (TouchStatus.BOUNCED, 2),
    (TouchStatus.SUPPRESSED, 14),
]
_STATUS_VALUES = [status for status, _ in _STATUSES]
_STATUS_CUMULATIVE = list(itertools.accumulate(weight for _, weight in _STATUSES))
_REASONS = ("no_consent", "quiet_hours", "frequency_cap", "window_closed")


def _touch(
    rng: random.Random,
    touch_id: uuid.UUID,
    store_id: uuid.UUID,
    lead_id: uuid.UUID,
    journey: tuple[uuid.UUID | None, str | None],
    created: datetime,
    step: int,
) -> dict[str, Any]:
    """One message of a journey (enrollment id, sequence key), or of none."""
    (status,) = rng.choices(_STATUS_VALUES, cum_weights=_STATUS_CUMULATIVE)
    at = created + timedelta(seconds=rng.randint(5, 600) + step * 3 * 86_400)
    enrollment_id, sequence_key = journey
    return {
        "id": touch_id,
        "store_id": store_id,
        "lead_id": lead_id,
        "enrollment_id": enrollment_id,
        "sequence_key": sequence_key,
        "staff_id": None,
        "step_id": f"step_{step}",
        "channel": rng.choice(["email", "sms", "whatsapp"]),
        "purpose": "marketing",
        "template": f"seed/step_{step}",
        "idempotency_key": f"seed:{touch_id}",
        "status": status,
        "reason": rng.choice(_REASONS) if status == TouchStatus.SUPPRESSED else None,
        "created_at": at,
        "sent_at": None if status == TouchStatus.SUPPRESSED else at,
        "updated_at": at,
    }


def _task(
    rng: random.Random,
    task_id: uuid.UUID,
    store_id: uuid.UUID,
    lead_id: uuid.UUID,
    created: datetime,
    staff_ids: Sequence[uuid.UUID],
) -> dict[str, Any]:
    opened = created + timedelta(seconds=rng.randint(1, 300))
    acknowledged = opened + timedelta(seconds=rng.randint(60, 8 * 3_600))
    done = rng.random() < 0.7
    return {
        "id": task_id,
        "store_id": store_id,
        "lead_id": lead_id,
        "kind": rng.choice(["call", "follow_up"]),
        "role_needed": "associate",
        "assignee_id": rng.choice(staff_ids),
        "reason": "seeded",
        "priority": "warm",
        "sla_due_at": opened + timedelta(hours=4),
        "status": TaskStatus.COMPLETED if done else TaskStatus.OPEN,
        "history": [],
        "acknowledged_at": acknowledged if done else None,
        "completed_at": acknowledged if done else None,
        "created_at": opened,
        "updated_at": opened,
    }


def _sequence_versions(
    connection: Connection, ids: random.Random, at: datetime
) -> dict[str, uuid.UUID]:
    """One published version per seeded sequence key (a key of this store's own)."""
    suffix = ids.getrandbits(32)
    versions = {key: _uuid(ids) for key in SEQUENCES}
    connection.execute(
        insert(SequenceVersion.__table__),  # type: ignore[arg-type]
        [
            {
                "id": version_id,
                "key": f"{key}__seed{suffix}",
                "version": 1,
                "name": key,
                "body": {},
                "content_hash": "seed",
                "published_by": "seed",
                "published_at": at,
            }
            for key, version_id in versions.items()
        ],
    )
    return versions


_TABLES: dict[str, Table] = {
    "lead": Lead.__table__,  # type: ignore[dict-item]
    "event": Event.__table__,  # type: ignore[dict-item]
    "touch": Touch.__table__,  # type: ignore[dict-item]
    "task": Task.__table__,  # type: ignore[dict-item]
    "purchase": Purchase.__table__,  # type: ignore[dict-item]
    "enrollment": Enrollment.__table__,  # type: ignore[dict-item]
}
