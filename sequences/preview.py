"""A dated plan of what a sequence would do for a lead: the marketing preview.

Pure and deterministic: it walks the steps with the same timing rules the journeys use,
assumes no event arrives (each `wait_for` times out), and evaluates `when` against the
facts it is given. Journeys themselves are the truth; this is what marketing reads first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sequences.model import Sequence
from sequences.timing import MAX_LATENESS, due_at
from sequences.vocabulary import Occasion


@dataclass(frozen=True)
class LeadSample:
    timezone: str
    segment: str | None = None
    score: int | None = None
    attributes: dict[str, str] | None = None
    occasions: dict[Occasion, date] | None = None


@dataclass(frozen=True)
class PlannedStep:
    step_id: str
    at: datetime  # local time in the lead's zone
    action: str  # send, task, goto, exit, enroll, wait, skipped
    detail: str  # the template, the task's role and reason, the target, …


def plan(sequence: Sequence, lead: LeadSample, enrolled_at: datetime) -> list[PlannedStep]:
    """Every step the lead would meet, in order, with its local date and time."""
    zone = ZoneInfo(lead.timezone)
    positions = {step.id: index for index, step in enumerate(sequence.steps)}
    planned: list[PlannedStep] = []
    previous = enrolled_at
    index = 0
    while index < len(sequence.steps):
        step = sequence.steps[index]
        index += 1
        due = due_at(
            step.at,
            enrolled_at=enrolled_at,
            previous_due=previous,
            tz=lead.timezone,
            occasions=lead.occasions or {},
        )
        if due is None:
            planned.append(PlannedStep(step.id, previous.astimezone(zone), "skipped", "no date"))
            continue
        local = due.astimezone(zone)
        if due < enrolled_at - MAX_LATENESS:
            planned.append(PlannedStep(step.id, local, "missed", "its time had passed"))
            previous = due
            continue
        previous = due
        if step.when is not None and not step.when.holds(
            score=lead.score,
            segment=lead.segment,
            attributes=lead.attributes or {},
            seen=set(),
            dates=set(lead.occasions or {}),
        ):
            planned.append(PlannedStep(step.id, local, "skipped", "condition not met"))
            continue
        if step.send is not None:
            planned.append(
                PlannedStep(step.id, local, "send", f"{step.send.channel}: {step.send.template}")
            )
        elif step.task is not None:
            planned.append(
                PlannedStep(step.id, local, "task", f"{step.task.role}: {step.task.reason}")
            )
        elif step.goto is not None:
            planned.append(PlannedStep(step.id, local, "goto", step.goto))
            index = positions[step.goto]
        elif step.exit is not None:
            planned.append(PlannedStep(step.id, local, "exit", step.exit.outcome))
            break
        elif step.enroll is not None:
            planned.append(PlannedStep(step.id, local, "enroll", step.enroll.sequence))
        if step.wait_for is not None:
            within = step.wait_for.within.as_timedelta()
            previous = due + within
            planned.append(
                PlannedStep(
                    step.id,
                    (due + within).astimezone(zone),
                    "wait",
                    f"no {step.wait_for.event} within {_days(within)}",
                )
            )
            if step.wait_for.otherwise:
                index = positions[step.wait_for.otherwise]
    return planned


def _days(span: timedelta) -> str:
    hours = span / timedelta(hours=1)
    return f"{hours / 24:g} days" if hours >= 24 else f"{hours:g} hours"
