"""How long each kind of activity may take and how it is retried: the named policies, in one
place. No policy retries a `Failure` (activities/payloads.py): a lead that is gone, a rule
that said no, a bug in a row. Workflows import this module; it does no I/O.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from activities.payloads import NON_RETRYABLE


def _retrying(*, every: float = 1, at_most_every: timedelta, attempts: int = 0) -> RetryPolicy:
    """Retry from `every` seconds, doubling up to `at_most_every`, `attempts` times in all
    (0: until the activity's schedule-to-close runs out), never a Failure."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=every),
        backoff_coefficient=2.0,
        maximum_interval=at_most_every,
        maximum_attempts=attempts,
        non_retryable_error_types=list(NON_RETRYABLE),
    )


# Sending a message: a day-7 message must not arrive on day 9, so retries stop after six
# hours (the step is then recorded as failed, `retries_exhausted`).
SEND_TIMEOUT = timedelta(seconds=30)
SEND_GIVE_UP_AFTER = timedelta(hours=6)
SEND = _retrying(at_most_every=timedelta(minutes=5), attempts=25)

# Reading and writing rows for a journey or a task: retried until the database answers.
BOOKKEEPING_TIMEOUT = timedelta(seconds=30)
BOOKKEEPING = _retrying(at_most_every=timedelta(minutes=1))

# Telling a person about their task: a late notice is worse than none, since the SLA runs.
NOTICE_TIMEOUT = timedelta(seconds=30)
NOTICE_GIVE_UP_AFTER = timedelta(minutes=30)
NOTICE = _retrying(at_most_every=timedelta(minutes=1), attempts=10)

# Scoring a lead after an event.
QUALIFY_TIMEOUT = timedelta(seconds=30)
QUALIFY = _retrying(at_most_every=timedelta(seconds=30))

# The nightly refit and rescore, and the going-cold sweep: a few tries, then the next run.
REFIT_TIMEOUT = timedelta(minutes=30)
RESCORE_TIMEOUT = timedelta(hours=2)
RESCORE_HEARTBEAT = timedelta(minutes=5)
UPKEEP = _retrying(at_most_every=timedelta(seconds=100), attempts=3)

# The owner's weekly email: rendering reads a week of rows; a provider that is down is tried
# again for up to half a day (the activity's claim keeps it to one email a week).
REPORT_TIMEOUT = timedelta(minutes=2)
REPORT = _retrying(every=5, at_most_every=timedelta(minutes=30), attempts=20)

# Telling Valigara a piece sold: a 105 is retried after the wait it advised, a network error
# or a 201 from every 5 s up to every 10 minutes, for a day; a refusal (102) never.
# One attempt is one request (PROVIDER_TIMEOUT_SECONDS, at most 25 s): a worker that died
# mid-call is retried after this.
VALIGARA_CALL_TIMEOUT = timedelta(seconds=30)
VALIGARA_SOLD_GIVE_UP_AFTER = timedelta(days=1)
VALIGARA_SOLD = _retrying(every=5, at_most_every=timedelta(minutes=10))

# Pulling Valigara's catalogue (a search, then one call per piece): a few tries, then the
# schedule's next run.
VALIGARA_PULL_TIMEOUT = timedelta(hours=1)
VALIGARA_PULL = _retrying(every=30, at_most_every=timedelta(minutes=10), attempts=5)
