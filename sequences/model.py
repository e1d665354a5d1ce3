"""The sequence language as pydantic models: what marketing writes, validated on load.

A journey workflow receives a `Sequence` as data, so it runs exactly the version it started
with however the library changes later.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sequences.vocabulary import Channel, EventKind, Purpose, Segment

STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Offset(_Strict):
    """Time after enrollment. Offsets count from enrollment, so a late step shifts nothing."""

    days: int = Field(default=0, ge=0)
    hours: int = Field(default=0, ge=0)
    minutes: int = Field(default=0, ge=0)
    seconds: int = Field(default=0, ge=0)

    def as_timedelta(self) -> timedelta:
        return timedelta(
            days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )


class SendAction(_Strict):
    """Send one template on one channel; `preferred` means the lead's preferred channel."""

    channel: Channel | Literal["preferred"] = "preferred"
    template: str = Field(pattern=r"^[a-z0-9_]+(/[a-z0-9_]+)*$")
    purpose: Purpose = Purpose.MARKETING


class Step(_Strict):
    id: str = Field(pattern=STEP_ID_PATTERN)
    at: Offset = Offset()
    send: SendAction | None = None

    @model_validator(mode="after")
    def _has_an_action(self) -> Step:
        if self.send is None:
            raise ValueError("a step needs an action (send)")
        return self


class Sequence(_Strict):
    key: str = Field(pattern=STEP_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    segment: Segment | None = None
    goal: EventKind | None = EventKind.PURCHASE
    exit_on: tuple[EventKind, ...] = (EventKind.OPTED_OUT,)
    steps: tuple[Step, ...] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _steps_are_unique_and_in_order(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        seen: set[str] = set()
        previous: Step | None = None
        for step in steps:
            if step.id in seen:
                raise ValueError(f"step {step.id!r}: duplicate step id")
            seen.add(step.id)
            if previous is not None and step.at.as_timedelta() < previous.at.as_timedelta():
                raise ValueError(
                    f"step {step.id!r}: field 'at' is earlier than step {previous.id!r}; "
                    "offsets must not go backwards"
                )
            previous = step
        return steps

    def templates(self) -> set[str]:
        return {step.send.template for step in self.steps if step.send is not None}
