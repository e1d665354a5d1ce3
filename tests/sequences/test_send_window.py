"""Quiet hours as plain functions: the state table, India's window, DST, unknown places."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sequences.send_window import Recipient, is_within_window, next_send_time
from sequences.vocabulary import Purpose

NEW_YORK = Recipient("US", "NY", "America/New_York")
MIAMI = Recipient("US", "FL", "America/New_York")
HARTFORD = Recipient("US", "CT", "America/New_York")
PROVIDENCE = Recipient("US", "RI", "America/New_York")
HOUSTON = Recipient("US", "TX", "America/Chicago")
BENGALURU = Recipient("IN", None, "Asia/Kolkata")
SOMEWHERE = Recipient(None, None, None)


def local(zone: str, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def at_local(recipient: Recipient, *args: int) -> datetime:
    return local(recipient.timezone or "UTC", *args)


@pytest.mark.parametrize(
    ("recipient", "when", "opens_at"),
    [
        # 2026-11-23 is a Monday.
        (NEW_YORK, (2026, 11, 23, 7, 59), (2026, 11, 23, 8, 0)),
        (NEW_YORK, (2026, 11, 23, 21, 0), (2026, 11, 24, 8, 0)),
        (MIAMI, (2026, 11, 23, 20, 30), (2026, 11, 24, 8, 0)),
        (HARTFORD, (2026, 11, 23, 8, 30), (2026, 11, 23, 9, 0)),
        (PROVIDENCE, (2026, 11, 23, 18, 0), (2026, 11, 24, 9, 0)),
        (PROVIDENCE, (2026, 11, 28, 9, 30), (2026, 11, 28, 10, 0)),  # Saturday 10-17
        (PROVIDENCE, (2026, 11, 28, 17, 0), (2026, 11, 29, 10, 0)),
        (HOUSTON, (2026, 11, 29, 9, 0), (2026, 11, 29, 12, 0)),  # Sunday noon
        (BENGALURU, (2026, 11, 23, 9, 59), (2026, 11, 23, 10, 0)),
        (BENGALURU, (2026, 11, 23, 21, 0), (2026, 11, 24, 10, 0)),
    ],
)
def test_outside_the_window_the_next_opening_is_returned(recipient, when, opens_at):
    assert next_send_time(at_local(recipient, *when), recipient, Purpose.MARKETING) == at_local(
        recipient, *opens_at
    )


@pytest.mark.parametrize(
    ("recipient", "when"),
    [
        (NEW_YORK, (2026, 11, 23, 8, 0)),
        (NEW_YORK, (2026, 11, 23, 20, 59)),
        (MIAMI, (2026, 11, 23, 19, 59)),
        (HOUSTON, (2026, 11, 29, 20, 0)),
        (BENGALURU, (2026, 11, 23, 10, 0)),
        (BENGALURU, (2026, 11, 23, 20, 59)),
    ],
)
def test_inside_the_window_a_message_goes_at_once(recipient, when):
    moment = at_local(recipient, *when)
    assert next_send_time(moment, recipient, Purpose.MARKETING) == moment


def test_an_unknown_place_gets_the_strictest_window():
    # Weekdays 10-18, Saturday 10-17, Sunday 12-17, read in UTC when the zone is unknown too.
    assert not is_within_window(local("UTC", 2026, 11, 23, 9, 30), SOMEWHERE, Purpose.MARKETING)
    assert not is_within_window(local("UTC", 2026, 11, 23, 18, 0), SOMEWHERE, Purpose.MARKETING)
    assert is_within_window(local("UTC", 2026, 11, 23, 17, 59), SOMEWHERE, Purpose.MARKETING)
    assert next_send_time(local("UTC", 2026, 11, 29, 11, 0), SOMEWHERE, Purpose.MARKETING) == local(
        "UTC", 2026, 11, 29, 12, 0
    )
    unknown_state = Recipient("US", None, "America/Los_Angeles")
    assert not is_within_window(
        local("America/Los_Angeles", 2026, 11, 23, 8, 30), unknown_state, Purpose.MARKETING
    )


def test_transactional_messages_are_not_held():
    midnight = at_local(BENGALURU, 2026, 11, 23, 0, 30)
    assert next_send_time(midnight, BENGALURU, Purpose.TRANSACTIONAL) == midnight


def test_the_window_opens_at_eight_local_on_both_sides_of_a_dst_change():
    # US clocks go forward on 2026-03-08 and back on 2026-11-01.
    for day in (7, 8, 9):
        opens = next_send_time(at_local(NEW_YORK, 2026, 3, day, 1, 0), NEW_YORK, Purpose.MARKETING)
        assert opens.astimezone(ZoneInfo("America/New_York")).hour == 8
    before, after = (
        next_send_time(at_local(NEW_YORK, 2026, 10, 30, 22, 0), NEW_YORK, Purpose.MARKETING),
        next_send_time(at_local(NEW_YORK, 2026, 11, 1, 22, 0), NEW_YORK, Purpose.MARKETING),
    )
    assert before.astimezone(UTC).hour == 12  # EDT: 8:00 = 12:00 UTC on 31 October
    assert after.astimezone(UTC).hour == 13  # EST: 8:00 = 13:00 UTC on 2 November


def test_every_answer_is_inside_the_window_hour_by_hour_for_a_year():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for recipient in (NEW_YORK, PROVIDENCE, HOUSTON, BENGALURU, SOMEWHERE):
        for hours in range(0, 365 * 24, 7):
            moment = start + timedelta(hours=hours)
            chosen = next_send_time(moment, recipient, Purpose.MARKETING)
            assert chosen >= moment
            assert chosen - moment < timedelta(days=2)
            assert is_within_window(chosen, recipient, Purpose.MARKETING)
