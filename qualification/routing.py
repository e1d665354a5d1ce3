"""Who gets a task: a pure choice among a store's staff, with the reason it was made.

In order: the role the task needs (a manager stands in when nobody of that role is free);
someone who speaks the lead's language, when anyone does; continuity (the lead's owner, then
the associate who last worked the lead); the lightest load weighted by conversion rate, so staff
who convert better take proportionally more; and the staff id as a deterministic tie-break.
Nobody is given more open tasks than their capacity.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sequences.vocabulary import StaffRole

MIN_CONVERSION = 0.01  # a new hire with no record still gets some work


@dataclass(frozen=True)
class Candidate:
    staff_id: uuid.UUID
    role: StaffRole
    languages: tuple[str, ...] = ("en",)
    active: bool = True
    open_tasks: int = 0
    capacity: int = 20
    conversion_rate: float = 0.2

    @property
    def has_room(self) -> bool:
        return self.active and self.open_tasks < self.capacity

    def speaks(self, language: str) -> bool:
        wanted = language.lower().split("-")[0]
        return any(spoken.lower().split("-")[0] == wanted for spoken in self.languages)


@dataclass(frozen=True)
class RoutingRequest:
    role_needed: StaffRole
    language: str | None = None
    owner_id: uuid.UUID | None = None
    last_associate_id: uuid.UUID | None = None
    exclude: frozenset[uuid.UUID] = field(default_factory=frozenset)


@dataclass(frozen=True)
class RoutingChoice:
    staff_id: uuid.UUID | None
    reason: str


def _load_key(candidate: Candidate) -> tuple[float, int, str]:
    # The next task goes where (tasks after it) / conversion rate is smallest: over many
    # tasks each person's share is proportional to their conversion rate.
    share = (candidate.open_tasks + 1) / max(candidate.conversion_rate, MIN_CONVERSION)
    return (share, candidate.open_tasks, str(candidate.staff_id))


def route(request: RoutingRequest, staff: Sequence[Candidate]) -> RoutingChoice:
    """Choose the assignee for a task; `staff_id` is None when nobody can take it."""
    available = [c for c in staff if c.has_room and c.staff_id not in request.exclude]
    pool = [c for c in available if c.role is request.role_needed]
    reasons = [f"{request.role_needed.value} needed"]
    if not pool:
        pool = [c for c in available if c.role is StaffRole.MANAGER]
        if not pool:
            return RoutingChoice(None, f"no {request.role_needed.value} or manager has room")
        reasons = [f"no {request.role_needed.value} has room; a manager stands in"]

    if request.language:
        speakers = [c for c in pool if c.speaks(request.language)]
        if speakers:
            pool = speakers
            reasons.append(f"speaks {request.language}")
        else:
            reasons.append(f"nobody free speaks {request.language}")

    for preferred, why in (
        (request.owner_id, "the lead's owner"),
        (request.last_associate_id, "worked this lead last"),
    ):
        match = next((c for c in pool if c.staff_id == preferred), None)
        if preferred is not None and match is not None:
            return RoutingChoice(match.staff_id, "; ".join([*reasons, why]))

    chosen = min(pool, key=_load_key)
    reasons.append(
        f"lightest load for their conversion ({chosen.open_tasks}/{chosen.capacity} open, "
        f"converts {chosen.conversion_rate:.0%})"
    )
    return RoutingChoice(chosen.staff_id, "; ".join(reasons))
