"""Quiet hours on the journey's own clock: steps that fall at night, and across the US DST
switches, wait for the recipient's window and are sent when it opens, never outside it and
never dropped. A lead in New York (federal 8:00-21:00) and one in Bengaluru (promotional
10:00-21:00), walked through the next spring-forward and fall-back on the time-skipping
server with the real send activity."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.vocabulary import TouchStatus
from db.models import Store
from sequences.model import Offset, SendAction, Sequence, Step
from sequences.vocabulary import Channel
from tests.factories import enroll, indian_mobile, make_lead, set_caps, touches
from workflows.journey import NurtureJourney

NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")

# Offsets from an enrollment at 20:30 New York time on the Saturday before a DST switch: the
# evening, the night of the switch, the next day and the morning after it.
OFFSETS = {
    "evening": Offset(minutes=15),
    "late": Offset(hours=1),
    "switch_night": Offset(hours=6),
    "sunday": Offset(hours=16),
    "sunday_late": Offset(days=1, hours=1),
    "monday_early": Offset(days=1, hours=10),
    "monday_morning": Offset(days=1, hours=10, minutes=45),
}

# When each step must reach the lead, on the lead's wall clock (the first moment at or after
# the step's due time, and after the step before it, that its window allows).
EXPECTED = {
    ("spring", "US"): [
        "Sat 20:45 EST",
        "Sun 08:00 EDT",  # 21:30 is after hours: held overnight
        "Sun 08:00 EDT",  # 02:30 EST does not exist: it is 03:30 EDT, and held
        "Sun 13:30 EDT",
        "Mon 08:00 EDT",
        "Mon 08:00 EDT",  # 07:30 EDT (06:30 by standard time) waits for 08:00 EDT
        "Mon 08:15 EDT",  # 07:15 by standard time, yet inside today's window: sent at once
    ],
    ("fall", "US"): [
        "Sat 20:45 EDT",
        "Sun 08:00 EST",
        "Sun 08:00 EST",  # 01:30 on the repeated hour
        "Sun 11:30 EST",
        "Sun 20:30 EST",  # 21:30 by daylight time, yet inside the window: sent at once
        "Mon 08:00 EST",
        "Mon 08:00 EST",
    ],
    ("spring", "IN"): [
        "Sun 10:00 IST",
        "Sun 10:00 IST",
        "Sun 13:00 IST",
        "Mon 10:00 IST",
        "Mon 10:00 IST",
        "Mon 17:00 IST",
        "Mon 17:45 IST",
    ],
    ("fall", "IN"): [
        "Sun 10:00 IST",
        "Sun 10:00 IST",
        "Sun 12:00 IST",
        "Mon 10:00 IST",
        "Mon 10:00 IST",
        "Mon 16:00 IST",
        "Mon 16:45 IST",
    ],
}
WINDOW = {"US": (time(8), time(21)), "IN": (time(10), time(21))}
ZONES = {"US": NEW_YORK, "IN": KOLKATA}


def _sequence(key: str) -> Sequence:
    return Sequence(
        key=key,
        name=key,
        steps=tuple(
            Step(id=step_id, at=at, send=SendAction(channel=Channel.EMAIL, template=template))
            for (step_id, at), template in zip(
                OFFSETS.items(),
                [
                    "engagement/welcome",
                    "engagement/four_cs",
                    "engagement/viewing_invite",
                    "engagement/welcome",
                    "engagement/four_cs",
                    "engagement/viewing_invite",
                    "engagement/welcome",
                ],
                strict=True,
            )
        ),
    )


def _dst_sundays(after: datetime) -> dict[str, date]:
    """The dates of New York's next spring-forward and fall-back after `after`."""
    found: dict[str, date] = {}
    day = after.astimezone(NEW_YORK).date() + timedelta(days=1)
    while len(found) < 2:
        before = datetime.combine(day, time(0), tzinfo=NEW_YORK).utcoffset()
        later = datetime.combine(day, time(12), tzinfo=NEW_YORK).utcoffset()
        if before != later:
            found["spring" if later > before else "fall"] = day  # type: ignore[operator]
        day += timedelta(days=1)
    return found


def _in_new_york(database, store: Store) -> None:
    def move(session) -> None:
        row = session.get_one(Store, store.id)
        row.country, row.region, row.timezone, row.currency = "US", "NY", str(NEW_YORK), "USD"

    database.run(move)


@pytest.mark.parametrize("switch", ["spring", "fall"])
@pytest.mark.parametrize("where", ["US", "IN"])
async def test_no_send_outside_the_window_across_a_dst_change(
    where, switch, time_skipping, database, store, worker_for
):
    """A fresh server per switch: its clock only moves forward, and after one journey it may
    already have skipped past the next switch."""
    env, zone = time_skipping, ZONES[where]
    if where == "US":
        _in_new_york(database, store)
    set_caps(database, store, per_day=10, per_week=50)  # this test is about the clock
    phone = "+12125550123" if where == "US" else indian_mobile()
    lead_id = make_lead(database, store, phone=phone, timezone=str(zone))
    sunday = _dst_sundays(await env.get_current_time())[switch]
    saturday_evening = datetime.combine(sunday - timedelta(days=1), time(20, 30), tzinfo=NEW_YORK)
    await env.sleep(saturday_evening - await env.get_current_time())
    workflow_id, start = enroll(
        database,
        lead_id,
        sequence=_sequence(f"dst_{switch}"),
        enrolled_at=await env.get_current_time(),
    )
    async with worker_for(env.client) as task_queue:
        result = await env.client.execute_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )

    # Every step was sent (held ones when the window opened), none dropped ...
    assert [s.status for s in result.steps] == ["outbox"] * len(OFFSETS), result.steps
    sent = touches(database, lead_id)
    assert [(t.step_id, t.status) for t in sent] == [(s, TouchStatus.OUTBOX) for s in OFFSETS]
    # ... each inside the lead's window, at the first moment the window allowed.
    local = [t.sent_at.astimezone(zone) for t in sent if t.sent_at]
    opens, closes = WINDOW[where]
    assert all(opens <= at.time() < closes for at in local), local
    assert [f"{at:%a %H:%M %Z}" for at in local] == EXPECTED[(switch, where)]
