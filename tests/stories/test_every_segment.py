"""A journey for every segment, end to end through the API, on the time-skipping server.

Each lead is captured over HTTP the way a store's form would post it, and the test reads what
the customer would receive: the template and the subject line of the first message, and of
the messages that follow the events that drive each journey (the first gold-scheme
instalment, a repair's job status, an anniversary date arriving). None of them may hear the
engagement-ring welcome or the 4Cs guide.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from core.vocabulary import ApiRole
from db.models import Enrollment, Store, Task
from db.repositories import SequenceRepository
from db.session import Database
from sequences.calendar import festival_in_year, next_festival
from sequences.loader import load_library
from sequences.vocabulary import Festival, StaffRole
from tests.conftest import api_client, bearer
from tests.factories import indian_mobile, touches
from workflows.journey import NurtureJourney
from workflows.occasion import OccasionCountdown

IST = ZoneInfo("Asia/Kolkata")
LIBRARY = load_library()
ENGAGEMENT_COPY = ("engagement/", "ring", "diamond", "4Cs")
# Gone out to the lead: through a provider, or (no keys, as in these tests) into the outbox.
WENT_OUT = {"sent", "outbox"}


@dataclass
class Shop:
    """The store's API as its systems and staff use it, on a server whose clock can skip."""

    env: Any
    http: httpx.AsyncClient
    database: Database
    store: Store
    form: str  # the web form's key (POS-role keys capture leads too)
    till: str
    associate: str

    async def capture(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "store_id": str(self.store.id),
            "source": "web_form",
            "first_name": "Meera",
            "phone": indian_mobile(),
            "email": f"meera.{uuid.uuid4().hex[:8]}@example.com",
            "preferred_channel": "email",
            "timezone": "Asia/Kolkata",
            "consent": {"email": True, "sms": True, "evidence": "web form, both boxes"},
        }
        body.update(overrides)
        answer = await self.http.post("/v1/leads", headers=bearer(self.form), json=body)
        assert answer.status_code in (200, 201), answer.text
        return {**answer.json(), "body": body}

    async def enquire(self, segment: str, message: str, **overrides: Any) -> dict[str, Any]:
        """A capture for `segment` that starts its journey; a minute later, for the welcome."""
        lead = await self.capture(segment=segment, message=message, **overrides)
        assert lead["journey_workflow_id"].endswith(f":{segment}")
        await self.env.sleep(timedelta(minutes=1))
        return lead

    async def job_status(self, lead: dict[str, Any], job_id: str, status: str) -> None:
        """The till reports the lead's job moved on; five minutes later, for the message."""
        answer = await self.http.post(
            "/v1/pos/job-status",
            headers=bearer(self.till),
            json={
                "store_id": str(self.store.id),
                "job_id": job_id,
                "status": status,
                "customer": {"phone": lead["body"]["phone"]},
            },
        )
        assert answer.status_code == 201, answer.text
        await self.env.sleep(timedelta(minutes=5))

    async def skip(self, span: timedelta) -> None:
        """Let time pass a week at a time: each skip is one call the server finishes promptly."""
        while span > timedelta(0):
            step = min(span, timedelta(days=7))
            await self.env.sleep(step)
            span -= step

    def sent(self, lead_id: str) -> list[tuple[str, str, str | None]]:
        """(step, template, subject) of every message that went to the lead, in order."""
        return [
            (t.step_id, t.template, t.subject)
            for t in touches(self.database, uuid.UUID(lead_id))
            if t.status.value in WENT_OUT
        ]


async def _to_local_eleven(env: Any, day: date | None = None) -> datetime:
    """Move the server's clock to 11:00 in India: on `day`, or the next such time."""
    now = (await env.get_current_time()).astimezone(IST)
    target = datetime.combine(day or now.date(), datetime.min.time(), IST).replace(hour=11)
    if target <= now:
        target += timedelta(days=1)
    remaining = target - now
    while remaining > timedelta(0):
        step = min(remaining, timedelta(days=7))
        await env.sleep(step)
        remaining -= step
    return (await env.get_current_time()).astimezone(IST)


@pytest.fixture
async def shop(time_skipping, database, store, api_key, worker_for) -> AsyncIterator[Shop]:
    await _to_local_eleven(time_skipping)
    async with (
        worker_for(time_skipping.client) as task_queue,
        api_client(database, time_skipping.client, task_queue) as http,
    ):
        yield Shop(
            env=time_skipping,
            http=http,
            database=database,
            store=store,
            form=api_key(ApiRole.POS),
            till=api_key(ApiRole.POS),
            associate=api_key(ApiRole.ASSOCIATE, store_id=store.id),
        )


def _no_engagement_copy(sent: list[tuple[str, str, str | None]]) -> None:
    for step, template, subject in sent:
        said = f"{template} {subject or ''}"
        assert not any(word.lower() in said.lower() for word in ENGAGEMENT_COPY), (step, said)


def _enrollments(database: Database, lead_id: str) -> dict[str, Enrollment]:
    rows = database.run(
        lambda s: s.scalars(
            select(Enrollment).where(Enrollment.lead_id == uuid.UUID(lead_id))
        ).all()
    )
    # Journeys by sequence key (countdowns, `occasion:…`, are left out).
    return {
        row.workflow_id.rsplit(":", 1)[1]: row
        for row in rows
        if row.workflow_id.startswith("journey:")
    }


# --- gifting -------------------------------------------------------------------------------


async def test_a_gift_enquiry_in_march_gets_a_gifting_welcome_the_same_minute(shop: Shop):
    now = (await shop.env.get_current_time()).astimezone(IST)
    march = date(now.year + (1 if now.month >= 3 else 0), 3, 10)
    arrived = await _to_local_eleven(shop.env, march)
    assert (arrived.month, arrived.day) == (3, 10)

    lead = await shop.enquire("gifting", "A present for my sister")

    [(step, template, subject)] = shop.sent(lead["lead_id"])
    assert (step, template) == ("welcome", "gifting/welcome")
    assert subject == "Thank you, Meera: let's find the right gift"

    # What comes next is keyed to the next gifting day of the calendar (Akshaya Tritiya or
    # Mother's Day in spring), not Diwali in the autumn.
    handle = shop.env.client.get_workflow_handle(lead["journey_workflow_id"])
    view = await handle.query(NurtureJourney.status)
    assert view.current_step == "occasion_ideas"
    spring = min(
        day
        for festival in (Festival.AKSHAYA_TRITIYA, Festival.MOTHERS_DAY)
        if (day := next_festival(festival, march)) is not None
    )
    assert view.next_due_at.astimezone(IST).date() == spring - timedelta(days=21)
    diwali = festival_in_year(Festival.DIWALI, march.year)
    assert diwali is not None and view.next_due_at.astimezone(IST).date() < diwali


async def test_a_gift_for_a_known_birthday_counts_to_the_birthday_not_a_festival(shop: Shop):
    today = (await shop.env.get_current_time()).astimezone(IST).date()
    birthday = today + timedelta(days=40)
    lead = await shop.capture(
        segment="gifting",
        message="A present for my husband",
        occasions={"birthday": birthday.replace(year=birthday.year - 30).isoformat()},
    )
    await shop.env.sleep(timedelta(minutes=1))
    assert [t for _, t, _ in shop.sent(lead["lead_id"])] == ["gifting/welcome"]
    handle = shop.env.client.get_workflow_handle(lead["journey_workflow_id"])
    view = await handle.query(NurtureJourney.status)
    assert view.next_due_at.astimezone(IST).date() == birthday - timedelta(days=21)


# --- anniversary ---------------------------------------------------------------------------


async def test_an_anniversary_lead_without_a_date_is_asked_for_it_then_the_countdown_starts(
    shop: Shop,
):
    lead = await shop.enquire("anniversary", "Something for our anniversary")
    assert lead["countdown_workflow_ids"] == []
    [(step, template, subject)] = shop.sent(lead["lead_id"])
    assert (step, template) == ("welcome_ask_date", "anniversary/ask_date")
    assert subject is not None and "when is it?" in subject

    # A day later she fills in the form again, this time with the date.
    await shop.env.sleep(timedelta(days=1))
    today = (await shop.env.get_current_time()).astimezone(IST).date()
    anniversary = (today + timedelta(days=100)).replace(year=today.year - 8)
    again = await shop.capture(
        phone=lead["body"]["phone"],
        email=lead["body"]["email"],
        segment="anniversary",
        message=f"Our anniversary is on {anniversary:%d %B}",
        occasions={"anniversary": anniversary.isoformat()},
    )
    assert again["lead_id"] == lead["lead_id"]
    [countdown_id] = again["countdown_workflow_ids"]
    countdown = shop.env.client.get_workflow_handle(countdown_id)
    view = await countdown.query(OccasionCountdown.status)
    assert view.sequence_key == "anniversary_countdown"
    assert view.occasion_date is not None
    assert (view.occasion_date.month, view.occasion_date.day) == (
        anniversary.month,
        anniversary.day,
    )

    # The asking journey hands over at its next step and asks no more.
    await shop.skip(timedelta(days=3))
    journeys = _enrollments(shop.database, lead["lead_id"])
    assert journeys["anniversary"].outcome == "handed_to_countdown"
    assert journeys["anniversary"].ended_at is not None
    assert "anniversary/date_reminder" not in [t for _, t, _ in shop.sent(lead["lead_id"])]
    _no_engagement_copy(shop.sent(lead["lead_id"]))


async def test_an_anniversary_lead_who_never_gives_the_date_is_reminded_and_a_person_asks(
    shop: Shop,
):
    lead = await shop.capture(segment="anniversary", message="Anniversary ideas please")
    await shop.skip(timedelta(days=4))
    assert [t for _, t, _ in shop.sent(lead["lead_id"])] == [
        "anniversary/ask_date",
        "anniversary/date_reminder",
    ]
    tasks = shop.database.run(
        lambda s: s.scalars(select(Task).where(Task.lead_id == uuid.UUID(lead["lead_id"]))).all()
    )
    assert [task.kind for task in tasks] == ["ask_date"]


# --- daily wear, gold scheme, repair ---------------------------------------------------------


async def test_a_daily_wear_lead_gets_the_everyday_welcome_not_the_engagement_copy(shop: Shop):
    lead = await shop.enquire("daily_wear", "Light chains for office wear")
    await shop.skip(timedelta(days=2, hours=1))
    sent = shop.sent(lead["lead_id"])
    assert sent == [
        ("welcome", "daily_wear/welcome", "Thank you, Meera: everyday pieces at "
         f"{shop.store.name}"),
        ("everyday_edit", "daily_wear/everyday_edit",
         "The everyday edit: light pieces you will not want to take off"),
    ]  # fmt: skip
    _no_engagement_copy(sent)


async def test_a_gold_scheme_lead_gets_instalment_reminders_and_the_maturity_note(shop: Shop):
    lead = await shop.enquire("gold_scheme", "How does your gold scheme work?")
    assert shop.sent(lead["lead_id"]) == [
        ("welcome", "gold_scheme/welcome", "How our gold savings scheme works, Meera")
    ]

    # Two days later she opens the scheme at the counter: the till records instalment 1.
    await shop.env.sleep(timedelta(days=2))
    paid = await shop.http.post(
        f"/v1/leads/{lead['lead_id']}/events",
        headers=bearer(shop.associate),
        json={
            "event_id": f"scheme-{uuid.uuid4().hex[:8]}",
            "kind": "scheme_instalment",
            "payload": {"instalment": "1"},
        },
    )
    assert paid.status_code == 201, paid.text
    await shop.env.sleep(timedelta(minutes=5))
    assert [t for _, t, _ in shop.sent(lead["lead_id"])][-1] == "gold_scheme/scheme_opened"

    # A reminder a few days before the next instalment, a month after the first.
    await shop.skip(timedelta(days=28))
    reminders = [s for s in shop.sent(lead["lead_id"]) if s[1] == "gold_scheme/instalment_due"]
    assert reminders == [
        ("instalment_2", "gold_scheme/instalment_due",
         "Your gold scheme instalment is due in a few days"),
    ]  # fmt: skip

    # Eleven months on, the scheme matures.
    await shop.skip(timedelta(days=308))
    sent = shop.sent(lead["lead_id"])
    assert len([s for s in sent if s[1] == "gold_scheme/instalment_due"]) == 10
    assert sent[-1] == ("maturity", "gold_scheme/maturity", "Your gold scheme has matured, Meera")
    journeys = _enrollments(shop.database, lead["lead_id"])
    assert journeys["gold_scheme"].outcome == "joined"
    _no_engagement_copy(sent)


async def test_a_repair_lead_hears_at_each_job_status_and_never_the_engagement_copy(shop: Shop):
    lead = await shop.enquire("repair", "The clasp of my chain is broken")
    assert shop.sent(lead["lead_id"]) == [
        ("welcome", "repair/welcome", f"Your repair at {shop.store.name}: what happens next")
    ]

    await shop.env.sleep(timedelta(days=1))
    await shop.job_status(lead, "R-1001", "received")
    assert shop.sent(lead["lead_id"])[-1] == (
        "piece_received",
        "repair/received",
        "We have your piece, Meera",
    )
    await shop.env.sleep(timedelta(days=4))
    await shop.job_status(lead, "R-1001", "ready")
    assert shop.sent(lead["lead_id"])[-1] == (
        "ready",
        "repair/ready",
        "Your repaired piece is ready to collect",
    )
    await shop.job_status(lead, "R-1001", "picked_up")
    await shop.env.sleep(timedelta(hours=1))
    assert shop.sent(lead["lead_id"])[-1][1] == "repair/care_tips"
    assert _enrollments(shop.database, lead["lead_id"])["repair"].outcome == "picked_up"
    _no_engagement_copy(shop.sent(lead["lead_id"]))


async def test_a_walk_in_repair_checked_in_at_once_hears_its_piece_is_received(shop: Shop):
    lead = await shop.capture(segment="repair", message="Please polish my bangles")
    await shop.job_status(lead, "R-2002", "received")
    assert [t for _, t, _ in shop.sent(lead["lead_id"])] == ["repair/welcome", "repair/received"]


# --- no journey, ties ------------------------------------------------------------------------


@pytest.fixture
def daily_wear_retired(database: Database) -> Any:
    """Marketing takes the daily-wear journey off its segment (a newer version without one),
    and puts it back after the test (the database is shared by the session's tests)."""
    body = LIBRARY["daily_wear"].model_dump(mode="json", by_alias=True)

    def publish(segment: str | None) -> None:
        database.run(
            lambda s: SequenceRepository(s).publish(
                "daily_wear", body["name"], {**body, "segment": segment}, by="test"
            )
        )

    publish(None)
    yield
    publish("daily_wear")


async def test_a_segment_with_no_journey_gets_the_neutral_welcome_and_a_task_with_the_reason(
    shop: Shop, daily_wear_retired
):
    lead = await shop.capture(segment="daily_wear", message="Something light for work")
    assert lead["journey_workflow_id"].endswith(":welcome")
    await shop.env.sleep(timedelta(minutes=1))
    [(step, template, subject)] = shop.sent(lead["lead_id"])
    assert (step, template) == ("welcome", "welcome/thank_you")
    assert subject == f"Thank you for getting in touch with {shop.store.name}, Meera"
    _no_engagement_copy(shop.sent(lead["lead_id"]))

    tasks = shop.database.run(
        lambda s: s.scalars(select(Task).where(Task.lead_id == uuid.UUID(lead["lead_id"]))).all()
    )
    assert [(task.kind, task.role_needed) for task in tasks] == [
        ("choose_journey", StaffRole.ASSOCIATE)
    ]
    assert "No journey fits this lead" in tasks[0].reason

    timeline = await shop.http.get(
        f"/v1/leads/{lead['lead_id']}/timeline", headers=bearer(shop.associate)
    )
    notes = [e for e in timeline.json()["entries"] if e.get("kind") == "note"]
    assert [note["payload"]["note"] for note in notes] == [
        "No journey is published for the segment daily wear: sent the neutral welcome "
        "(welcome) and asked an associate to choose the next steps"
    ]


async def test_a_lead_whose_segment_cannot_be_told_gets_the_neutral_welcome_with_the_reason(
    shop: Shop,
):
    lead = await shop.capture(message="Do you buy old silver?")
    assert lead["journey_workflow_id"].endswith(":welcome")
    await shop.env.sleep(timedelta(minutes=1))
    assert [t for _, t, _ in shop.sent(lead["lead_id"])] == ["welcome/thank_you"]
    timeline = await shop.http.get(
        f"/v1/leads/{lead['lead_id']}/timeline", headers=bearer(shop.associate)
    )
    [note] = [e for e in timeline.json()["entries"] if e.get("kind") == "note"]
    assert note["payload"]["note"].startswith("No segment could be told from the enquiry")


@pytest.mark.parametrize(
    ("message", "segment"),
    [
        ("Looking for an anniversary gift for my wife", "anniversary"),
        ("Can you resize my engagement ring?", "repair"),
        ("A custom bridal necklace for my daughter", "custom_design"),
    ],
)
async def test_a_capture_matching_two_segments_lands_in_the_one_the_tie_rule_names(
    shop: Shop, message: str, segment: str
):
    lead = await shop.capture(message=message)
    answer = await shop.http.get(f"/v1/leads/{lead['lead_id']}", headers=bearer(shop.associate))
    assert answer.json()["segment"] == segment
    journey = "custom_order" if segment == "custom_design" else segment
    assert lead["journey_workflow_id"].endswith(f":{journey}")
    await shop.env.sleep(timedelta(minutes=1))
    assert len(shop.sent(lead["lead_id"])) == 1, "one welcome, from the winning segment only"
