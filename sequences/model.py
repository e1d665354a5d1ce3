"""The sequence language as pydantic models: what marketing writes, validated on load.

A journey workflow receives a `Sequence` as data, so it runs exactly the version it started
with however the library changes later. The vocabulary:

- a step has an id, an optional time (`at`), an optional condition (`when`) and one action:
  `send`, `task`, `goto` (forward only), `exit` or `enroll`; a `send` or `task` may be
  followed by a `wait_for` (an event, or a timeout, then branch), or `wait_for` stands alone;
- `at` is an offset from enrollment (`{days: 2}`), a calendar anchor (`{next: "12-01 10:00"}`
  in the lead's time zone), a lead date (`{before: {days: 45}, of: anniversary}`), or a
  festival (`{festival: diwali, before: {days: 7}}`), or the lead's next gifting occasion
  (`{next_of: [birthday, anniversary], before: {days: 14}}`); without `at` a step follows the
  last;
- journey rules: `goal` (reaching it converts; `goal_when` narrows which purchases do),
  `exit_on`, `on_event` reactions and `reply_pauses` (a reply pauses automated sends and
  opens a task for the lead's owner);
- runs: `reenter_after` (whether, and how long after an unconverted run ended, a lead may
  start the sequence again), `new_run_supersedes` (a new run ends the running one as
  superseded: every purchase its own post-purchase run) and `runs_beside` (sequences a
  segment change leaves running beside this one);
- `purpose`: `sales` (the default; a purchase or a full opt-out makes it pointless) or
  `service` (a custom order, a repair: it and its tasks go on after both).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from sequences.vocabulary import (
    Channel,
    EventKind,
    Festival,
    Occasion,
    Purpose,
    Segment,
    StaffRole,
    WorkPurpose,
)

STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
LOCAL_TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"


class StepProblem(ValueError):
    """A rule across steps that one step breaks: names the step (by position) and its field,
    so an editor can point at the line; the message is the same as a plain ValueError's."""

    def __init__(self, index: int, field: str, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.field = field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MAX_OFFSET_DAYS = 3660  # ten years: the longest any wait, pause or SLA may be


class Offset(_Strict):
    """A duration. As a step's `at`, it counts from enrollment, so a late step shifts nothing.

    At most ten years in all: a longer one could not be a timer (and a huge one overflowed
    Python's timedelta in the API or, worse, in the running journey)."""

    days: int = Field(default=0, ge=0, le=MAX_OFFSET_DAYS)
    hours: int = Field(default=0, ge=0, le=MAX_OFFSET_DAYS * 24)
    minutes: int = Field(default=0, ge=0, le=MAX_OFFSET_DAYS * 24 * 60)
    seconds: int = Field(default=0, ge=0, le=MAX_OFFSET_DAYS * 24 * 60 * 60)

    @model_validator(mode="after")
    def _at_most_ten_years(self) -> Offset:
        if self.as_timedelta() > timedelta(days=MAX_OFFSET_DAYS):  # fields bounded: no overflow
            raise ValueError(f"at most {MAX_OFFSET_DAYS} days in all")
        return self

    def as_timedelta(self) -> timedelta:
        return timedelta(
            days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )


class NextDate(_Strict):
    """The next time the lead's clock shows this month-day and time: `{next: "12-01 10:00"}`."""

    next: str = Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d$")

    @property
    def month_day_time(self) -> tuple[int, int, int, int]:
        month, day, hour, minute = (int(part) for part in re.split(r"[- :]", self.next))
        return month, day, hour, minute


class _DateAnchor(_Strict):
    """A local time on a day counted from a date: `before` or `after` it (or on it)."""

    before: Offset | None = None
    after: Offset | None = None
    time: str = Field(default="10:00", pattern=LOCAL_TIME_PATTERN)

    @model_validator(mode="after")
    def _one_direction(self) -> _DateAnchor:
        if self.before is not None and self.after is not None:
            raise ValueError("give either 'before' or 'after', not both")
        return self

    def shift(self) -> timedelta:
        if self.before is not None:
            return -self.before.as_timedelta()
        return self.after.as_timedelta() if self.after is not None else timedelta(0)


class OccasionDate(_DateAnchor):
    """Relative to a date of the lead's: `{before: {days: 45}, of: anniversary}` at 10:00."""

    of: Occasion


class FestivalDate(_DateAnchor):
    """Relative to the next occurrence of a festival: `{festival: diwali, before: {days: 7}}`."""

    festival: Festival


class NextOccasion(_DateAnchor):
    """Relative to the lead's next gifting moment: `{next_of: [birthday, anniversary],
    before: {days: 14}}` is the soonest of those dates the lead gave us; when they gave none,
    the soonest of `festivals` (every festival the calendar knows, unless narrowed). Chosen
    once, from the day of enrollment, so every step of a journey counts to the same day."""

    next_of: tuple[Occasion, ...] = Field(min_length=1)
    festivals: tuple[Festival, ...] = tuple(Festival)


def _timing_kind(value: Any) -> str:
    """Which kind of `at` this is, told by its keys, so errors name the right fields."""
    keys = set(value) if isinstance(value, dict) else set(type(value).model_fields)
    if "next" in keys:
        return "next"
    if "of" in keys:
        return "occasion"
    if "festival" in keys:
        return "festival"
    if "next_of" in keys:
        return "next_occasion"
    return "offset"


TIMING_KINDS = ("offset", "next", "occasion", "festival", "next_occasion")

Timing = Annotated[
    Annotated[Offset, Tag("offset")]
    | Annotated[NextDate, Tag("next")]
    | Annotated[OccasionDate, Tag("occasion")]
    | Annotated[FestivalDate, Tag("festival")]
    | Annotated[NextOccasion, Tag("next_occasion")],
    Discriminator(_timing_kind),
]


# Kinds of `at` whose steps must come in time order: where a step stands, and what to say.
_FORWARD_ONLY: dict[type, Any] = {
    Offset: lambda at: (at.as_timedelta(), "is earlier than", "offsets must not go backwards"),
    OccasionDate: lambda at: (
        at.shift(),
        "comes before",
        "dates relative to an occasion must not go backwards",
    ),
    NextOccasion: lambda at: (
        at.shift(),
        "comes before",
        "dates relative to the next occasion must not go backwards",
    ),
}


class SendAction(_Strict):
    """Send one template on one channel; `preferred` means the lead's preferred channel."""

    channel: Channel | Literal["preferred"] = "preferred"
    template: str = Field(pattern=r"^[a-z0-9_]+(/[a-z0-9_]+)*$")
    purpose: Purpose = Purpose.MARKETING


class TaskAction(_Strict):
    """Hand the lead to a person of `role`, with a reason they can act on and an SLA."""

    role: StaffRole
    reason: str = Field(min_length=3, max_length=300)
    kind: str = Field(default="follow_up", pattern=r"^[a-z][a-z0-9_]{0,47}$")
    sla: Offset = Offset(hours=24)
    priority: Literal["hot", "warm", "cold"] = "warm"
    # None: the sequence's purpose. A custom order's CAD and pickup tasks are `service`.
    purpose: WorkPurpose | None = None


class ExitAction(_Strict):
    outcome: str = Field(default="completed", pattern=r"^[a-z][a-z0-9_]{0,47}$")


class EnrollAction(_Strict):
    sequence: str = Field(pattern=STEP_ID_PATTERN)


class WaitFor(_Strict):
    """Wait for an event (optionally with matching facts) until `within` runs out, then branch.

    Arriving in time continues at `then` (default: the next step); timing out continues at
    `else` (default: the next step). `within` is required: every wait has a way out.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    event: EventKind
    where: dict[str, str] = Field(default_factory=dict)
    within: Offset
    then: str | None = Field(default=None, pattern=STEP_ID_PATTERN)
    otherwise: str | None = Field(default=None, alias="else", pattern=STEP_ID_PATTERN)


class Condition(_Strict):
    """Every given test must hold for the step to run; otherwise it is skipped."""

    score_at_least: int | None = Field(default=None, ge=0, le=100)
    score_below: int | None = Field(default=None, ge=0, le=100)
    segment_in: tuple[Segment, ...] | None = None
    attributes: dict[str, str] | None = None
    seen: EventKind | None = None
    not_seen: EventKind | None = None
    # Whether the lead has given us this date (an anniversary journey asks until it has).
    date_known: Occasion | None = None
    date_unknown: Occasion | None = None

    def holds(
        self,
        *,
        score: int | None,
        segment: str | None,
        attributes: dict[str, str],
        seen: set[EventKind],
        dates: Collection[Occasion] = (),
    ) -> bool:
        """True when every given test passes; an unknown score passes no score test."""
        if self.date_known is not None and self.date_known not in dates:
            return False
        if self.date_unknown is not None and self.date_unknown in dates:
            return False
        if self.score_at_least is not None and (score is None or score < self.score_at_least):
            return False
        if self.score_below is not None and (score is None or score >= self.score_below):
            return False
        if self.segment_in is not None and segment not in self.segment_in:
            return False
        if self.attributes and any(attributes.get(k) != v for k, v in self.attributes.items()):
            return False
        if self.seen is not None and self.seen not in seen:
            return False
        return self.not_seen is None or self.not_seen not in seen


class Reaction(_Strict):
    """What a journey does when an event arrives (`on_event`): open a task, pause, or exit."""

    task: TaskAction | None = None
    pause: Offset | None = None
    exit: ExitAction | None = None

    @model_validator(mode="after")
    def _one_reaction(self) -> Reaction:
        if sum(x is not None for x in (self.task, self.pause, self.exit)) != 1:
            raise ValueError("a reaction is exactly one of task, pause or exit")
        return self


class Step(_Strict):
    id: str = Field(pattern=STEP_ID_PATTERN)
    at: Timing | None = None
    when: Condition | None = None
    send: SendAction | None = None
    task: TaskAction | None = None
    goto: str | None = Field(default=None, pattern=STEP_ID_PATTERN)
    exit: ExitAction | None = None
    enroll: EnrollAction | None = None
    wait_for: WaitFor | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        actions = [
            name
            for name in ("send", "task", "goto", "exit", "enroll")
            if getattr(self, name) is not None
        ]
        if len(actions) > 1:
            raise ValueError(f"a step has one action; this one has {', '.join(actions)}")
        if not actions and self.wait_for is None:
            raise ValueError("a step needs an action: send, task, wait_for, goto, exit or enroll")
        if self.wait_for is not None and actions and actions[0] not in ("send", "task"):
            raise ValueError(f"wait_for can follow send or task, not {actions[0]}")
        return self


CATEGORY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


def category_word(category: str) -> str:
    """A till's category as goals compare it: `Engagement Rings` and `engagement_ring` are
    one word (lower case, spaces and hyphens as underscores, a plural's trailing s dropped)."""
    word = "_".join(category.casefold().replace("-", " ").split())
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


class GoalWhen(_Strict):
    """Which purchases reach a `goal: purchase`: one of `categories` among the sale's items,
    and at least `min_amount_minor` in all. Every given test must hold. A purchase recorded
    without items (a sale noted by hand) names no category, so only its amount is tested;
    one without an amount passes the amount test."""

    categories: tuple[Annotated[str, Field(pattern=CATEGORY_PATTERN)], ...] | None = Field(
        default=None, min_length=1
    )
    min_amount_minor: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _some_test(self) -> GoalWhen:
        if self.categories is None and self.min_amount_minor is None:
            raise ValueError("give categories, min_amount_minor or both")
        return self

    def met_by(self, categories: frozenset[str] | None, amount_minor: int | None) -> bool:
        if self.categories is not None and categories is not None:
            wanted = {category_word(c) for c in self.categories}
            if not wanted & {category_word(c) for c in categories}:
                return False
        return not (
            self.min_amount_minor is not None
            and amount_minor is not None
            and amount_minor < self.min_amount_minor
        )


# What a purchase's event tells journeys, as JourneyEvent facts (comma-separated categories).
PURCHASE_CATEGORIES_FACT = "categories"
PURCHASE_AMOUNT_FACT = "amount_minor"


def purchase_facts(categories: list[str] | None, amount_minor: int | None) -> dict[str, str]:
    """A sale's facts as journeys hear them; `categories` None: the sale was not itemised."""
    facts = {}
    if categories is not None:
        facts[PURCHASE_CATEGORIES_FACT] = ",".join(sorted({category_word(c) for c in categories}))
    if amount_minor is not None:
        facts[PURCHASE_AMOUNT_FACT] = str(amount_minor)
    return facts


def _facts_of_purchase(facts: dict[str, str]) -> tuple[frozenset[str] | None, int | None]:
    listed = facts.get(PURCHASE_CATEGORIES_FACT)
    amount = facts.get(PURCHASE_AMOUNT_FACT)
    categories = None if listed is None else frozenset(c for c in listed.split(",") if c)
    return categories, int(amount) if amount and amount.isdigit() else None


class Sequence(_Strict):
    key: str = Field(pattern=STEP_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    segment: Segment | None = None
    occasion: Occasion | None = None  # set for yearly countdowns (OccasionCountdown runs them)
    goal: EventKind | None = EventKind.PURCHASE
    goal_when: GoalWhen | None = None
    exit_on: tuple[EventKind, ...] = (EventKind.OPTED_OUT,)
    purpose: WorkPurpose = WorkPurpose.SALES
    # None: a lead who has been in this sequence never enters it again. Otherwise a new run
    # may start this long after an unconverted run ended (completed, exited, superseded).
    reenter_after: Offset | None = None
    # A new run (a second purchase's post-purchase care) ends the running one as superseded.
    new_run_supersedes: bool = False
    # Sequences a segment change into or out of this one leaves running beside it.
    runs_beside: tuple[Annotated[str, Field(pattern=STEP_ID_PATTERN)], ...] = ()
    # A placeholder for a lead whose segment is not known yet (the generic welcome): the
    # journey of a segment found later ends it as superseded, so no check-in follows.
    gives_way_to_segment: bool = False
    # A reply pauses automated sends this long and asks the lead's owner to answer it.
    reply_pauses: Offset | None = None
    on_event: dict[EventKind, Reaction] = Field(default_factory=dict)
    steps: tuple[Step, ...] = Field(min_length=1, max_length=200)

    @field_validator("steps")
    @classmethod
    def _steps_are_unique_forward_and_in_order(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        position: dict[str, int] = {}
        for index, step in enumerate(steps):
            if step.id in position:
                raise StepProblem(index, "id", f"step {step.id!r}: duplicate step id")
            position[step.id] = index

        def forward(step: Step, index: int, field: str, target: str | None) -> None:
            if target is None:
                return
            if target not in position:
                raise StepProblem(
                    index, field, f"step {step.id!r}: field {field} names unknown step {target!r}"
                )
            if position[target] <= index:
                raise StepProblem(
                    index,
                    field,
                    f"step {step.id!r}: field {field} goes back to {target!r}; "
                    "goto and branches only go forward (no loops)",
                )

        last: dict[type, tuple[str, timedelta]] = {}  # per kind of `at`: the latest step
        for index, step in enumerate(steps):
            forward(step, index, "goto", step.goto)
            if step.wait_for is not None:
                forward(step, index, "wait_for.then", step.wait_for.then)
                forward(step, index, "wait_for.else", step.wait_for.otherwise)
            kind = type(step.at)
            if kind not in _FORWARD_ONLY:
                continue
            moment, earlier, why = _FORWARD_ONLY[kind](step.at)
            if kind in last and moment < last[kind][1]:
                raise StepProblem(
                    index,
                    "at",
                    f"step {step.id!r}: field 'at' {earlier} step {last[kind][0]!r}; {why}",
                )
            last[kind] = (step.id, moment)
        return steps

    @model_validator(mode="after")
    def _countdowns_count_down_to_their_occasion(self) -> Sequence:
        for index, step in enumerate(self.steps):
            if isinstance(step.at, OccasionDate) and self.occasion and step.at.of != self.occasion:
                raise StepProblem(
                    index,
                    "at.of",
                    f"step {step.id!r}: field at.of is {step.at.of}, but this countdown "
                    f"is for {self.occasion}",
                )
        if self.occasion is not None and not any(
            isinstance(step.at, OccasionDate) for step in self.steps
        ):
            raise ValueError(f"a countdown for {self.occasion} needs steps dated 'of' it")
        return self

    @model_validator(mode="after")
    def _goal_when_fits_the_goal(self) -> Sequence:
        if self.goal_when is not None and self.goal is not EventKind.PURCHASE:
            raise ValueError(
                "goal_when says which purchases reach the goal; it needs goal: purchase "
                f"(this sequence's goal is {self.goal})"
            )
        if self.new_run_supersedes and self.reenter_after is None:
            raise ValueError(
                "new_run_supersedes needs reenter_after (e.g. {days: 0}): without it no "
                "second run starts"
            )
        if self.purpose is WorkPurpose.SERVICE and EventKind.OPTED_OUT in self.exit_on:
            raise ValueError(
                "a service sequence goes on after a full opt-out (its messages are service "
                "messages); remove opted_out from exit_on, or make its purpose sales"
            )
        if self.key in self.runs_beside:
            raise ValueError("runs_beside names this sequence itself")
        return self

    def goal_reached_by(self, kind: EventKind, facts: dict[str, str]) -> bool:
        """Whether an event of `kind` with these facts reaches the goal."""
        if kind != self.goal:
            return False
        if self.goal_when is None:
            return True
        return self.goal_when.met_by(*_facts_of_purchase(facts))

    def task_purpose(self, task: TaskAction) -> WorkPurpose:
        return task.purpose or self.purpose

    def templates(self) -> set[str]:
        return {step.send.template for step in self.steps if step.send is not None}

    def occasions(self) -> set[Occasion]:
        return {step.at.of for step in self.steps if isinstance(step.at, OccasionDate)}

    def enrolls(self) -> set[str]:
        return {step.enroll.sequence for step in self.steps if step.enroll is not None}
