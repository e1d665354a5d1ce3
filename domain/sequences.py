"""The sequence library: publishing immutable versions, and previewing one for a lead.

A published version never changes; running journeys keep the version they started with, and
new enrollments take the newest. A preview walks the steps with the journeys' own timing
rules (`sequences.preview`), for a made-up lead or a real one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from core.vocabulary import JourneyStatus, TouchStatus
from db.models import SequenceVersion, Touch
from db.repositories import EnrollmentRepository, SequenceRepository, TouchRepository
from db.types import utcnow
from domain.access import Actor
from domain.enrollment import lead_occasions, lead_timezone
from domain.errors import Conflict, InvalidSequence, NotFound
from domain.leads import lead_for
from domain.reference import Reference
from sequences.calendar import UnknownFestivalYear, check_known, festivals_of
from sequences.loader import SequenceError, SequenceProblem, parse_sequence
from sequences.model import FestivalDate, Sequence
from sequences.preview import LeadSample, PlannedStep, plan
from sequences.source import DiffLine, diff, to_yaml
from sequences.templates import (
    MergeFields,
    RenderedMessage,
    TemplateProblem,
    load_template,
    render,
)
from sequences.timing import local_date, next_month_day
from sequences.vocabulary import Channel


def library(session: Session) -> Seq[SequenceVersion]:
    """Every sequence at its newest version."""
    return SequenceRepository(session).latest_of_each()


def versions_of(session: Session, key: str) -> Seq[SequenceVersion]:
    """Every published version of sequence `key`, oldest first."""
    found = SequenceRepository(session).versions(key)
    if not found:
        raise NotFound(f"sequence {key!r}")
    return found


def version_of(session: Session, key: str, number: int | None = None) -> SequenceVersion:
    """The sequence's version `number`, or its newest."""
    repository = SequenceRepository(session)
    found = repository.version(key, number) if number else repository.latest(key)
    if found is None:
        raise NotFound(f"sequence {key!r}" + (f" version {number}" if number else ""))
    return found


@dataclass(frozen=True)
class Published:
    version: SequenceVersion
    created: bool  # False: the body was the newest version's; nothing new was published


def publish(session: Session, reference: Reference, body: dict[str, Any], *, by: str) -> Published:
    """Validate a sequence (refused with the file, step and field) and publish it as a new
    version, unless it equals the newest one."""
    try:
        sequence = parse_sequence(body, "sequence")
    except SequenceError as error:
        raise InvalidSequence("sequence", str(error), error.problems) from error
    repository = SequenceRepository(session)
    unknown = sorted(key for key in sequence.enrolls() if repository.latest(key) is None)
    if unknown and set(unknown) != {sequence.key}:
        message = f"enroll names unpublished sequence(s): {', '.join(unknown)}"
        where = [
            SequenceProblem(("steps", index, "enroll", "sequence"), message)
            for index, step in enumerate(sequence.steps)
            if step.enroll is not None and step.enroll.sequence in unknown
        ]
        raise InvalidSequence("steps", message, tuple(where))
    check_festival_dates(sequence, utcnow().date())
    latest = repository.latest(sequence.key)
    if latest is not None and bool(latest.body.get("occasion")) != bool(sequence.occasion):
        raise Conflict(
            f"{sequence.key!r} is published as a "
            f"{'countdown' if latest.body.get('occasion') else 'journey'}; "
            "a new version cannot change that (use a new key)"
        )
    version = repository.publish(
        sequence.key, sequence.name, sequence.model_dump(mode="json", by_alias=True), by=by
    )
    created = version != latest
    if created:
        reference.forget_on_commit(session)  # the next capture enrolls in the new version
    return Published(version, created)


def check_festival_dates(sequence: Sequence, on_or_after: date) -> None:
    """Refuse a sequence timed by a festival whose date is unknown for the year it would run
    in from `on_or_after` (InvalidSequence naming the step, the festival and the year)."""
    try:
        check_known(festivals_of(sequence), on_or_after)
    except UnknownFestivalYear as unknown:
        message = f"{unknown}: add it to sequences/calendar.py before using {sequence.key!r}"
        where = tuple(
            SequenceProblem(("steps", index, "at", "festival"), message)
            for index, step in enumerate(sequence.steps)
            if isinstance(step.at, FestivalDate) and step.at.festival is unknown.festival
        )
        raise InvalidSequence("steps", message, where) from unknown


@dataclass(frozen=True)
class Preview:
    version: SequenceVersion
    timezone: str
    enrolled_at: datetime
    steps: list[PlannedStep]
    journey_workflow_id: str | None = None  # the lead's running journey it follows


@dataclass(frozen=True)
class JourneyPosition:
    """Where a lead's running journey in a sequence is: its start, its version, and what
    became of each step it has sent (step id → e.g. "sent by email")."""

    workflow_id: str
    enrolled_at: datetime
    version: int
    done: dict[str, str]


def _became(touch: Touch) -> str:
    """What became of a step's message: "sent by email", "outbox (email, nothing left)"."""
    if touch.channel is None:
        return touch.status.value
    if touch.status is TouchStatus.OUTBOX:
        return f"outbox ({touch.channel.value}, nothing left Facet)"
    return f"{touch.status.value} by {touch.channel.value}"


def journey_position(session: Session, lead_id: uuid.UUID, key: str) -> JourneyPosition | None:
    """The lead's running journey in sequence `key`, if it has one."""
    running = [
        enrollment
        for enrollment in EnrollmentRepository(session).active_for_lead(lead_id)
        if enrollment.sequence_key == key and enrollment.status is JourneyStatus.ACTIVE
    ]
    if not running:
        return None
    enrollment = running[0]
    version = session.get_one(SequenceVersion, enrollment.sequence_version_id)
    done = {
        touch.step_id: _became(touch)
        for touch in TouchRepository(session).for_lead(lead_id)
        if touch.enrollment_id == enrollment.id and touch.staff_id is None
    }
    return JourneyPosition(enrollment.workflow_id, enrollment.started_at, version.version, done)


def from_position(steps: list[PlannedStep], position: JourneyPosition) -> list[PlannedStep]:
    """The plan with what the journey already did marked `done` (never shown as to come)."""
    return [
        PlannedStep(step.step_id, step.at, "done", f"{position.done[step.step_id]}: {step.detail}")
        if step.step_id in position.done and step.action == "send"
        else step
        for step in steps
    ]


def sample_of_lead(session: Session, lead_id: uuid.UUID, actor: Actor) -> LeadSample:
    """A real lead's facts, to preview a sequence for them."""
    lead = lead_for(session, lead_id, actor)
    return LeadSample(
        timezone=lead_timezone(session, lead),
        segment=lead.segment,
        score=lead.score,
        attributes={k: str(v) for k, v in lead.attributes.items()},
        occasions=lead_occasions(lead),
    )


def preview(
    session: Session,
    reference: Reference,
    key: str,
    *,
    number: int | None,
    sample: LeadSample,
    enrolled_at: datetime,
) -> Preview:
    """The dated plan of what the sequence would do for the sample lead."""
    version = version_of(session, key, number)
    sequence = reference.sequence(version)
    occasions: dict[Any, date] = dict(sample.occasions or {})
    if sequence.occasion is not None and sequence.occasion in occasions:
        # A countdown counts to the next time the date comes round, as the workflow does.
        day = occasions[sequence.occasion]
        occasions[sequence.occasion] = next_month_day(
            day.month, day.day, local_date(enrolled_at, sample.timezone)
        )
    steps = plan(
        sequence,
        LeadSample(
            timezone=sample.timezone,
            segment=sample.segment,
            score=sample.score,
            attributes=sample.attributes,
            occasions=occasions,
        ),
        enrolled_at,
    )
    return Preview(version, sample.timezone, enrolled_at, steps)


@dataclass(frozen=True)
class VersionDiff:
    """What changed from one version to another, line by line in their YAML."""

    older: SequenceVersion
    newer: SequenceVersion
    lines: list[DiffLine]


def compare(session: Session, key: str, older: int, newer: int) -> VersionDiff:
    """The diff between two versions of sequence `key`, as YAML lines."""
    before, after = version_of(session, key, older), version_of(session, key, newer)
    return VersionDiff(before, after, diff(to_yaml(before.body), to_yaml(after.body)))


@dataclass(frozen=True)
class RenderedTemplate:
    """One template of a version on one channel, as a lead would receive it (or why not)."""

    template: str
    steps: tuple[str, ...]  # the steps that send it
    channel: Channel | None
    message: RenderedMessage | None = None
    problem: str | None = None


def rendered_templates(
    session: Session, reference: Reference, key: str, number: int | None, fields: MergeFields
) -> tuple[SequenceVersion, list[RenderedTemplate]]:
    """Every template the version sends, rendered for `fields` on each channel it has."""
    version = version_of(session, key, number)
    senders: dict[str, list[str]] = {}
    for step in reference.sequence(version).steps:
        if step.send is not None:
            senders.setdefault(step.send.template, []).append(step.id)
    rendered: list[RenderedTemplate] = []
    for name, steps in senders.items():
        try:
            channels = load_template(name).channels()
        except TemplateProblem as problem:
            rendered.append(RenderedTemplate(name, tuple(steps), None, problem=str(problem)))
            continue
        for channel in (c for c in Channel if c in channels):
            try:
                message = render(name, channel, fields)
            except TemplateProblem as problem:
                rendered.append(RenderedTemplate(name, tuple(steps), channel, problem=str(problem)))
                continue
            rendered.append(RenderedTemplate(name, tuple(steps), channel, message))
    return version, rendered
