"""What Temporal must hear once a unit of work has committed.

A door records rows first and tells Temporal second: if Temporal is down, the door answers
that the rows are saved and a retry is safe, and the retry finds the same rows and repeats
only these calls, which are idempotent by business key and event id. Domain operations
return their `Effects`; the door applies them with `workflows.handles.apply`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from domain.enrollment import CountdownToStart, JourneyToStart, active_journeys
from domain.events import Happening, happening
from domain.tasks import Completed, EscalationToStart
from qualification.outcomes import Qualification


@dataclass(frozen=True)
class Delivery:
    """An event for the lead's running journeys (they deduplicate by event id)."""

    event: Happening
    workflow_ids: list[str]


@dataclass(frozen=True)
class QualifyOrder:
    """Run QualifyLead for this event: `decided` is what scoring in the request found
    (None: score in the workflow)."""

    lead_id: uuid.UUID
    event_id: uuid.UUID
    decided: Qualification | None = None


@dataclass(frozen=True)
class Supersede:
    """End this running journey as superseded: `new_run` (a newer run of its sequence) or
    `segment_changed` (the new segment's journey takes over)."""

    workflow_id: str
    reason: str


@dataclass(frozen=True)
class SoldPiece:
    """One sale line of a piece from a store system that keeps stock (Valigara): its id
    there and the quantity sold."""

    line_no: int
    product_id: str
    quantity: int


@dataclass(frozen=True)
class PiecesSold:
    """A sale's pieces Valigara must hear of (`product_sold`), once per sale."""

    store_id: uuid.UUID
    purchase_id: uuid.UUID
    lines: list[SoldPiece]


@dataclass
class Effects:
    journeys: list[JourneyToStart] = field(default_factory=list)
    countdowns: list[CountdownToStart] = field(default_factory=list)
    # The event new journeys start with (a capture's enquiry), if any.
    start_event: Happening | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    escalations: list[EscalationToStart] = field(default_factory=list)
    qualify: list[QualifyOrder] = field(default_factory=list)
    # Running journeys to end as superseded (after the journeys above have started).
    supersede: list[Supersede] = field(default_factory=list)
    # Sales whose pieces came from Valigara: it is told they sold.
    valigara_sold: list[PiecesSold] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing for Temporal to hear (a sale of history: no journey runs or starts)."""
        return not (
            self.journeys
            or self.countdowns
            or self.deliveries
            or self.escalations
            or self.qualify
            or self.supersede
        )

    def deliver(self, event: Happening, workflow_ids: list[str]) -> None:
        if workflow_ids:
            self.deliveries.append(Delivery(event, workflow_ids))


def of_completion(session: Session, done: Completed) -> Effects:
    """What a completed task's outcome causes: the lead's journeys hear the event, and
    qualification scores it. The API and the console apply the same effects."""
    event = done.recorded.event
    effects = Effects(qualify=[QualifyOrder(event.lead_id, event.id)])
    effects.deliver(happening(event), active_journeys(session, event.lead_id))
    return effects
