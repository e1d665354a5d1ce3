"""Journey step statistics for marketing: per sequence version and step, what became of the
messages, and how the journeys ended.

A step's counts come from its messages (the outbox, one row per journey and step): a journey
*entered* a step when the step produced a row; *waiting now* counts active journeys whose
latest step is this one. Every message is counted once, in its latest status: delivered
counts what was delivered, opened, clicked or replied; opened counts opened or clicked.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.vocabulary import JourneyStatus, TouchStatus
from db.models import Enrollment, Lead, SequenceVersion, Touch

_YEAR = re.compile(r"^\d{4}-")  # countdowns prefix each year's step ids ("2026-welcome")

DELIVERED = {TouchStatus.DELIVERED, TouchStatus.OPENED, TouchStatus.CLICKED, TouchStatus.REPLIED}
OPENED = {TouchStatus.OPENED, TouchStatus.CLICKED}
FAILED = {TouchStatus.FAILED, TouchStatus.BOUNCED, TouchStatus.UNDELIVERED}
SENT = DELIVERED | FAILED | {TouchStatus.SENT}

COLUMNS = [
    "Entered",
    "Waiting now",
    "Sent",
    "Held",
    "Suppressed",
    "Delivered",
    "Opened",
    "Clicked",
    "Replied",
    "Failed",
    "Opted out",
]


@dataclass
class StepRow:
    step_id: str
    kind: str
    counts: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)  # by reason

    def cells(self) -> list[int]:
        return [self.counts[name] for name in COLUMNS]

    def rate(self, name: str) -> float | None:
        """`name` as a % of the messages sent at this step."""
        sent = self.counts["Sent"]
        return round(100 * self.counts[name] / sent, 1) if sent else None


@dataclass
class VersionStats:
    version: int
    name: str
    steps: list[StepRow]
    enrolled: int
    exits: Counter[str]  # goal, timeout (ran its last step), opted out, other, still active


def _kind(step: dict[str, object]) -> str:
    for kind in ("send", "wait_for", "task", "when", "goto", "exit", "enroll"):
        if step.get(kind) is not None:
            return kind.replace("_", " ")
    return "step"


def _step_of(step_id: str) -> str:
    return _YEAR.sub("", step_id, count=1)


def _exit(status: JourneyStatus, outcome: str | None) -> str:
    if status is JourneyStatus.ACTIVE:
        return "Still active"
    if status is JourneyStatus.CONVERTED:
        return "Goal reached"
    if status is JourneyStatus.COMPLETED:
        return "Timed out (ran its last step)"
    if outcome == "opted_out":
        return "Opted out"
    return "Left early (other)"


def step_statistics(
    session: Session, key: str, store_ids: tuple[uuid.UUID, ...] | None
) -> list[VersionStats]:
    """Every version of sequence `key`, newest first, counted over the given branches'
    leads (None: every branch)."""
    versions = session.execute(
        select(
            SequenceVersion.id, SequenceVersion.version, SequenceVersion.name, SequenceVersion.body
        )
        .where(SequenceVersion.key == key)
        .order_by(SequenceVersion.version.desc())
    ).all()
    enrollments = (
        select(Enrollment.id, Enrollment.sequence_version_id, Enrollment.status, Enrollment.outcome)
        .join(Lead, Lead.id == Enrollment.lead_id)
        .where(Enrollment.sequence_key == key)
    )
    touches = (
        select(Touch.enrollment_id, Touch.step_id, Touch.status, Touch.reason, Touch.created_at)
        .join(Enrollment, Enrollment.id == Touch.enrollment_id)
        .join(Lead, Lead.id == Touch.lead_id)
        .where(Enrollment.sequence_key == key)
    )
    if store_ids is not None:
        enrollments = enrollments.where(Lead.store_id.in_(store_ids))
        touches = touches.where(Lead.store_id.in_(store_ids))
    journeys = {row[0]: row for row in session.execute(enrollments).all()}
    by_version: dict[uuid.UUID, list[tuple[uuid.UUID, str, TouchStatus, str | None, datetime]]]
    by_version = defaultdict(list)
    for enrollment_id, step_id, status, reason, created in session.execute(touches).all():
        journey = journeys.get(enrollment_id) if enrollment_id is not None else None
        if journey is not None and enrollment_id is not None:
            by_version[journey[1]].append(
                (enrollment_id, _step_of(step_id), status, reason, created)
            )

    found = []
    for version_id, number, name, body in versions:
        steps = body.get("steps", []) if isinstance(body, dict) else []
        rows = {
            str(s.get("id")): StepRow(str(s.get("id")), _kind(s))
            for s in steps
            if isinstance(s, dict)
        }
        entered: dict[str, set[uuid.UUID]] = defaultdict(set)
        latest: dict[uuid.UUID, tuple[datetime, str]] = {}
        for enrollment_id, step_id, status, reason, created in by_version[version_id]:
            row = rows.get(step_id)
            if row is None:
                continue
            entered[step_id].add(enrollment_id)
            if enrollment_id not in latest or created >= latest[enrollment_id][0]:
                latest[enrollment_id] = (created, step_id)
            counts = row.counts
            counts["Sent"] += status in SENT
            counts["Held"] += status is TouchStatus.HELD
            counts["Delivered"] += status in DELIVERED
            counts["Opened"] += status in OPENED
            counts["Clicked"] += status is TouchStatus.CLICKED
            counts["Replied"] += status is TouchStatus.REPLIED
            counts["Failed"] += status in FAILED
            if status is TouchStatus.SUPPRESSED:
                counts["Suppressed"] += 1
                row.suppressed[(reason or "unknown").replace("_", " ")] += 1
        mine = [j for j in journeys.values() if j[1] == version_id]
        for journey in mine:
            at = latest.get(journey[0])
            if at is None:
                continue
            if journey[2] is JourneyStatus.ACTIVE:
                rows[at[1]].counts["Waiting now"] += 1
            elif journey[3] == "opted_out":
                rows[at[1]].counts["Opted out"] += 1
        for step_id, ids in entered.items():
            rows[step_id].counts["Entered"] = len(ids)
        exits = Counter(_exit(j[2], j[3]) for j in mine)
        found.append(VersionStats(number, name, list(rows.values()), len(mine), exits))
    return found
