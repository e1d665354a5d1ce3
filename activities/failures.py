"""Domain errors, as activity failures: non-retryable, typed so a workflow can tell them apart.

Retrying an activity whose lead is gone, or whose request a business rule refused, changes
nothing: each becomes a non-retryable ApplicationError whose type names it (`Failure`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.exceptions import ApplicationError

from activities.payloads import Failure
from domain.errors import BrokenTouch, DomainError, UnknownLead, UnknownTask, UnknownTouch

_FAILURES: dict[type[DomainError], Failure] = {
    UnknownLead: Failure.UNKNOWN_LEAD,
    UnknownTask: Failure.UNKNOWN_TASK,
    UnknownTouch: Failure.UNKNOWN_TOUCH,
    BrokenTouch: Failure.BROKEN_TOUCH,
}


@contextmanager
def failing_for_good() -> Iterator[None]:
    """Run the body; a domain error ends the activity for good, named by its Failure."""
    try:
        yield
    except DomainError as error:
        failure = _FAILURES.get(type(error), Failure.BUSINESS_RULE)
        raise ApplicationError(str(error), type=failure.value, non_retryable=True) from error
