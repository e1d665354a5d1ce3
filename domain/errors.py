"""Domain errors: a business rule said no. Each door turns them into its own answer, in one
place: the API into an HTTP status (api/errors.py), an activity into a non-retryable failure
(activities/failures.py). The domain never imports FastAPI or Temporal."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of Facet's said no; the message says why, for a person to act on."""


class NotFound(DomainError):
    """No such thing (answered 404)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class UnknownLead(NotFound):
    """The lead does not exist (any more): a journey whose lead was deleted ends on it."""

    def __init__(self, lead_id: object) -> None:
        super().__init__(f"lead {lead_id}")
        self.lead_id = lead_id


class UnknownTask(NotFound):
    def __init__(self, task_id: object) -> None:
        super().__init__(f"task {task_id}")


class InvalidField(DomainError):
    """A value that cannot be used, named by its field (answered 422, like pydantic's)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidSequence(InvalidField):
    """A sequence that cannot be published. `problems` (`sequences.loader.SequenceProblem`)
    name each problem's key by its path, so an editor can show it beside its line."""

    def __init__(self, field: str, message: str, problems: tuple[Any, ...]) -> None:
        super().__init__(field, message)
        self.problems = problems


class Conflict(DomainError):
    """The request contradicts what is recorded (answered 409)."""


class NotAllowed(DomainError):
    """The actor may not do this, or not to this store's data (answered 403)."""


class OutsideBranch(NotAllowed):
    """The thing belongs to a branch the actor cannot see. The API answers 403 like any
    refusal; the console answers 404, so a person cannot probe other branches' ids."""


class BrokenTouch(DomainError):
    """A claimed touch without a channel, contact point or body: a bug, never retried."""

    def __init__(self, touch_id: object) -> None:
        super().__init__(f"touch {touch_id} was claimed without a channel, contact point or body")


class UnknownTouch(NotFound):
    """A step that ran out of retries has no touch to mark failed."""

    def __init__(self, key: str) -> None:
        super().__init__(f"touch {key}")
