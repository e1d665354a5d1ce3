"""Typed calls into Facet's workflows from outside them: the API, the console, the worker.

Every start and signal a door makes goes through here, by the workflow's own typed methods
(never a signal named by a string), idempotent by business key:

- `apply(client, task_queue, effects)`: what a domain operation said Temporal must hear once
  its unit of work committed — journeys and countdowns to start, an event for running
  journeys, older runs to end as superseded, EscalationTasks to start, QualifyLead to run,
  Valigara to be told of a sale's pieces (ValigaraSold);
- task signals (acknowledge, complete, cancel) and a journey's `status` query;
- `signal_if_running`: the one place a signal to an ended workflow is "fine, it ended".

The inputs are described by what this module reads of them (Protocols): the domain's plans
fit them without this package importing the domain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.payloads import ChannelCheckRequest, ChannelCheckResult
from activities.qualification_payloads import Cancellation
from core.vocabulary import TaskOutcome
from core.workflow_ids import (
    campaign_workflow_id,
    channel_check_workflow_id,
    qualify_workflow_id,
    task_workflow_id,
    valigara_sold_workflow_id,
)
from qualification.outcomes import Qualification
from sequences.model import Sequence as SequenceBody
from sequences.vocabulary import EventKind, Occasion
from workflows.campaign import CampaignCancel, CampaignInput, CampaignProgress, CampaignWorkflow
from workflows.channel_check import ChannelCheck
from workflows.escalation import EscalationTask
from workflows.escalation_model import Acknowledgement, Completion, EscalationInput, Handover
from workflows.journey import NurtureJourney
from workflows.journey_model import (
    ChangeDate,
    CountdownInput,
    EndRequest,
    JourneyEvent,
    JourneyInput,
    JourneyView,
    SupersedeRequest,
)
from workflows.occasion import OccasionCountdown
from workflows.qualification import NightlyQualification, QualifyLead
from workflows.qualification_model import NightlyInput, NightlyResult, QualifyInput
from workflows.valigara import SoldPieceLine, ValigaraSold, ValigaraSoldInput

log = logging.getLogger(__name__)

QUERY_TIMEOUT = timedelta(seconds=3)
A = TypeVar("A")


def signal_name(signal: Callable[..., Any]) -> str:
    """The name a `@workflow.signal` method is registered under (for signal-with-start)."""
    return workflow._SignalDefinition.must_name_from_fn_or_str(signal)


async def signal_if_running(
    client: Client, workflow_id: str, signal: Callable[[Any, A], Any], arg: A
) -> bool:
    """Signal the workflow; False (and nothing raised) when it is not running any more."""
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(workflow_id)
    try:
        await handle.signal(signal, arg)
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise
        log.info("workflow %s is not running; %s not signalled", workflow_id, signal_name(signal))
        return False
    return True


# --- what the domain plans, as read here ------------------------------------------------------


class Happening(Protocol):
    @property
    def event_id(self) -> uuid.UUID: ...
    @property
    def kind(self) -> EventKind: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def revenue_minor(self) -> int | None: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def facts(self) -> dict[str, str]: ...


class PlannedJourney(Protocol):
    @property
    def workflow_id(self) -> str: ...
    @property
    def lead_id(self) -> uuid.UUID: ...
    @property
    def enrollment_id(self) -> uuid.UUID: ...
    @property
    def sequence_version(self) -> int: ...
    @property
    def sequence(self) -> SequenceBody: ...


class PlannedCountdown(PlannedJourney, Protocol):
    @property
    def occasion(self) -> Occasion: ...
    @property
    def month(self) -> int: ...
    @property
    def day(self) -> int: ...
    @property
    def year(self) -> int: ...


class Delivery(Protocol):
    @property
    def event(self) -> Happening: ...
    @property
    def workflow_ids(self) -> list[str]: ...


class Escalation(Protocol):
    @property
    def task_id(self) -> uuid.UUID: ...
    @property
    def lead_id(self) -> uuid.UUID: ...
    @property
    def sla(self) -> timedelta: ...
    @property
    def sla_due_at(self) -> datetime | None: ...
    @property
    def assignee_id(self) -> uuid.UUID | None: ...


class QualifyOrder(Protocol):
    @property
    def lead_id(self) -> uuid.UUID: ...
    @property
    def event_id(self) -> uuid.UUID: ...
    @property
    def decided(self) -> object | None: ...


class SupersedeOrder(Protocol):
    @property
    def workflow_id(self) -> str: ...
    @property
    def reason(self) -> str: ...


class SoldPiece(Protocol):
    @property
    def line_no(self) -> int: ...
    @property
    def product_id(self) -> str: ...
    @property
    def quantity(self) -> int: ...


class PiecesSold(Protocol):
    @property
    def store_id(self) -> uuid.UUID: ...
    @property
    def purchase_id(self) -> uuid.UUID: ...
    @property
    def lines(self) -> Sequence[SoldPiece]: ...


class Effects(Protocol):
    @property
    def journeys(self) -> Sequence[PlannedJourney]: ...
    @property
    def countdowns(self) -> Sequence[PlannedCountdown]: ...
    @property
    def start_event(self) -> Happening | None: ...
    @property
    def deliveries(self) -> Sequence[Delivery]: ...
    @property
    def escalations(self) -> Sequence[Escalation]: ...
    @property
    def qualify(self) -> Sequence[QualifyOrder]: ...
    @property
    def supersede(self) -> Sequence[SupersedeOrder]: ...
    @property
    def valigara_sold(self) -> Sequence[PiecesSold]: ...


def journey_event(happening: Happening) -> JourneyEvent:
    return JourneyEvent.model_validate(happening, from_attributes=True)


# --- starting and telling ---------------------------------------------------------------------


async def start_journey(
    client: Client, task_queue: str, planned: PlannedJourney, event: Happening | None = None
) -> bool:
    """Start the journey (with `event`), or signal it if it runs. False if it already ended.

    The workflow id is the business key, so a retried request lands in the same journey. A
    journey that has ended is not started again for the same sequence (REJECT_DUPLICATE): a
    lead who bought should not get the welcome a second time.
    """
    # No enrolled_at: the journey counts from its own start.
    start = JourneyInput.model_validate(planned, from_attributes=True)
    try:
        await client.start_workflow(
            NurtureJourney.run,
            start,
            id=planned.workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            start_signal=signal_name(NurtureJourney.record_event) if event else None,
            start_signal_args=[journey_event(event)] if event else [],
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def start_countdown(client: Client, task_queue: str, planned: PlannedCountdown) -> bool:
    """Start the yearly countdown, or move a running one to the (possibly new) date."""
    start = CountdownInput.model_validate(planned, from_attributes=True)
    try:
        await client.start_workflow(
            OccasionCountdown.run,
            start,
            id=planned.workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            start_signal=signal_name(OccasionCountdown.change_date),
            start_signal_args=[ChangeDate(month=planned.month, day=planned.day)],
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def deliver(client: Client, workflow_ids: Iterable[str], event: Happening) -> list[str]:
    """Tell each journey of the event; returns the ids that were running to hear it."""
    told = journey_event(event)
    return [
        workflow_id
        for workflow_id in workflow_ids
        if await signal_if_running(client, workflow_id, NurtureJourney.record_event, told)
    ]


async def start_escalation(client: Client, task_queue: str, escalation: Escalation) -> None:
    """Start the task's EscalationTask (once: a running or finished one is left alone)."""
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            EscalationTask.run,
            EscalationInput.model_validate(escalation, from_attributes=True),
            id=task_workflow_id(escalation.task_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )


async def qualify(client: Client, task_queue: str, order: QualifyOrder) -> None:
    """Act on the lead's scoring for this event (once per event id, however often the request
    repeats). `order.decided`: what scoring in the request found; None scores in the
    workflow."""
    decided = (
        Qualification.model_validate(order.decided, from_attributes=True)
        if order.decided is not None
        else None
    )
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            QualifyLead.run,
            QualifyInput(lead_id=order.lead_id, event_id=order.event_id, decided=decided),
            id=qualify_workflow_id(order.event_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )


async def supersede_journey(client: Client, workflow_id: str, reason: str) -> bool:
    """End a running journey as superseded; False if it had ended already."""
    return await signal_if_running(
        client, workflow_id, NurtureJourney.supersede, SupersedeRequest(reason=reason)
    )


async def tell_valigara(client: Client, task_queue: str, sold: PiecesSold) -> None:
    """Start the sale's ValigaraSold (once per sale: a running or finished one is left
    alone, so a repeated webhook tells Valigara nothing more)."""
    lines = [SoldPieceLine.model_validate(line, from_attributes=True) for line in sold.lines]
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            ValigaraSold.run,
            ValigaraSoldInput(store_id=sold.store_id, purchase_id=sold.purchase_id, lines=lines),
            id=valigara_sold_workflow_id(sold.purchase_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )


@dataclass
class Applied:
    started: dict[str, bool] = field(default_factory=dict)  # workflow id → running now
    delivered: list[str] = field(default_factory=list)  # journeys that heard the event
    superseded: list[str] = field(default_factory=list)  # journeys ended as superseded


async def apply(client: Client, task_queue: str, effects: Effects) -> Applied:
    """Tell Temporal what a committed unit of work decided, in order: starts, deliveries,
    escalations, qualification, Valigara. Every call is idempotent: a retried request
    repeats them."""
    applied = Applied()
    for journey in effects.journeys:
        applied.started[journey.workflow_id] = await start_journey(
            client, task_queue, journey, effects.start_event
        )
    for countdown in effects.countdowns:
        applied.started[countdown.workflow_id] = await start_countdown(
            client, task_queue, countdown
        )
    for delivery in effects.deliveries:
        applied.delivered += await deliver(client, delivery.workflow_ids, delivery.event)
    for ending in effects.supersede:
        if await supersede_journey(client, ending.workflow_id, ending.reason):
            applied.superseded.append(ending.workflow_id)
    for escalation in effects.escalations:
        await start_escalation(client, task_queue, escalation)
    for order in effects.qualify:
        await qualify(client, task_queue, order)
    for sold in effects.valigara_sold:
        await tell_valigara(client, task_queue, sold)
    return applied


# --- tasks --------------------------------------------------------------------------------------


async def acknowledge_task(client: Client, task_id: uuid.UUID, staff_id: uuid.UUID | None) -> None:
    await signal_if_running(
        client,
        task_workflow_id(task_id),
        EscalationTask.acknowledge,
        Acknowledgement(staff_id=staff_id),
    )


async def complete_task(
    client: Client, task_id: uuid.UUID, staff_id: uuid.UUID | None, outcome: TaskOutcome
) -> None:
    await signal_if_running(
        client,
        task_workflow_id(task_id),
        EscalationTask.complete,
        Completion(staff_id=staff_id, outcome=outcome),
    )


async def hand_over_task(
    client: Client, task_id: uuid.UUID, assignee_id: uuid.UUID, handover: int
) -> None:
    """The task has a new assignee on its row: its EscalationTask tells them."""
    await signal_if_running(
        client,
        task_workflow_id(task_id),
        EscalationTask.hand_over,
        Handover(assignee_id=assignee_id, handover=handover),
    )


async def cancel_tasks(client: Client, task_ids: list[uuid.UUID], reason: str) -> None:
    """End these tasks' EscalationTasks (their rows are already cancelled)."""
    for task_id in task_ids:
        await signal_if_running(
            client, task_workflow_id(task_id), EscalationTask.cancel, Cancellation(reason=reason)
        )


def task_canceller(client: Client) -> Callable[[list[uuid.UUID], str], Awaitable[None]]:
    """`cancel_tasks` bound to a client, for the activity that needs it (built by the worker)."""

    async def cancel(task_ids: list[uuid.UUID], reason: str) -> None:
        await cancel_tasks(client, task_ids, reason)

    return cancel


# --- journeys and upkeep ----------------------------------------------------------------------


async def journey_status(client: Client, workflow_id: str) -> JourneyView | None:
    """The journey's own account of where it is; None if it has ended or cannot answer."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await asyncio.wait_for(
            handle.query(NurtureJourney.status, rpc_timeout=QUERY_TIMEOUT),
            timeout=QUERY_TIMEOUT.total_seconds() + 1,
        )
    except (RPCError, TimeoutError) as error:
        log.info("journey %s did not answer its status query: %s", workflow_id, error)
        return None


async def refit_now(
    client: Client, task_queue: str, store_id: uuid.UUID, *, rescore: bool
) -> NightlyResult:
    """Refit the store's model now (promoted only if it wins), then rescore; its result."""
    return await client.execute_workflow(
        NightlyQualification.run,
        NightlyInput(store_id=store_id, rescore=rescore),
        id=f"refit:{store_id}:{uuid.uuid4()}",
        task_queue=task_queue,
    )


# An admin waits on the page for a test send: the provider's own limit, and a little more.
CHANNEL_CHECK_WAIT = timedelta(seconds=40)


async def send_channel_check(
    client: Client, task_queue: str, check_id: uuid.UUID
) -> ChannelCheckResult | None:
    """Send store setup's test message through the worker and wait for the provider's answer;
    None when the worker did not answer in time (the row keeps what happens later)."""
    try:
        return await client.execute_workflow(
            ChannelCheck.run,
            ChannelCheckRequest(check_id=check_id),
            id=channel_check_workflow_id(check_id),
            task_queue=task_queue,
            execution_timeout=CHANNEL_CHECK_WAIT,
            rpc_timeout=CHANNEL_CHECK_WAIT,
        )
    except WorkflowFailureError as error:
        log.info("test send %s did not finish: %s", check_id, error.cause)
        return None


# --- campaigns --------------------------------------------------------------------------------


def journey_starter(client: Client, task_queue: str) -> Callable[[PlannedJourney], Awaitable[bool]]:
    """`start_journey` bound to a client and queue, for the campaign activities."""

    async def start(planned: PlannedJourney) -> bool:
        return await start_journey(client, task_queue, planned)

    return start


CAMPAIGN_CANCELLED = "campaign_cancelled"


async def end_journeys(client: Client, workflow_ids: Sequence[str], outcome: str) -> int:
    """End these journeys with `outcome`; how many were still running to hear it."""
    ended = 0
    for workflow_id in workflow_ids:
        ended += await signal_if_running(
            client, workflow_id, NurtureJourney.end, EndRequest(outcome=outcome)
        )
    return ended


def journey_ender(client: Client) -> Callable[[Sequence[str], str], Awaitable[int]]:
    """`end_journeys` bound to a client, for the campaign activities."""

    async def end(workflow_ids: Sequence[str], outcome: str) -> int:
        return await end_journeys(client, workflow_ids, outcome)

    return end


async def start_campaign(
    client: Client, task_queue: str, campaign_id: uuid.UUID, *, pace: timedelta = timedelta(0)
) -> None:
    """Start the campaign's CampaignWorkflow (once: a repeated start finds it)."""
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            CampaignWorkflow.run,
            CampaignInput(campaign_id=campaign_id, pace=pace),
            id=campaign_workflow_id(campaign_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )


async def cancel_campaign(
    client: Client,
    campaign_id: uuid.UUID,
    still_running: Callable[[], Awaitable[Sequence[str]]],
) -> int | None:
    """Tell the running CampaignWorkflow to stop (it ends the campaign's journeys once its
    batch in flight is done): None. When it has finished already, end the journeys
    `still_running()` names here, and return how many heard it."""
    if await signal_if_running(
        client, campaign_workflow_id(campaign_id), CampaignWorkflow.cancel, CampaignCancel()
    ):
        return None
    return await end_journeys(client, await still_running(), CAMPAIGN_CANCELLED)


async def campaign_progress(client: Client, campaign_id: uuid.UUID) -> CampaignProgress | None:
    """The CampaignWorkflow's own account of its progress; None if it cannot answer."""
    handle = client.get_workflow_handle(campaign_workflow_id(campaign_id))
    try:
        return await asyncio.wait_for(
            handle.query(CampaignWorkflow.progress, rpc_timeout=QUERY_TIMEOUT),
            timeout=QUERY_TIMEOUT.total_seconds() + 1,
        )
    except (RPCError, TimeoutError) as error:
        log.info("campaign %s did not answer its progress query: %s", campaign_id, error)
        return None
