"""What staff see on a lead's timeline (GET /v1/leads/{id}/timeline) when the send gate
holds a message back: each suppressed step with its reason, and a held step with the moment
it will go out — from a real journey on the time-skipping server, sending SMS through the
real Twilio SDK to the stand-in."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.vocabulary import ApiRole
from sequences.model import Offset, SendAction, Sequence, Step
from sequences.vocabulary import Channel
from tests.conftest import api_client
from tests.factories import enroll, make_lead
from tests.standin import settings_for, twilio_error
from workflows.journey import NurtureJourney

KOLKATA = ZoneInfo("Asia/Kolkata")


def _step(step_id: str, at: Offset, channel: Channel, template: str) -> Step:
    return Step(id=step_id, at=at, send=SendAction(channel=channel, template=template))


# Enrolled on a Monday at 13:00 in Bengaluru; the lead agreed to SMS and WhatsApp, not email,
# and has never written to us on WhatsApp.
GATED = Sequence(
    key="gated_test",
    name="Every way a message is held back",
    steps=(
        _step("by_email", Offset(), Channel.EMAIL, "engagement/welcome"),
        _step("on_whatsapp", Offset(minutes=1), Channel.WHATSAPP, "engagement/welcome"),
        _step("first_sms", Offset(minutes=2), Channel.SMS, "engagement/welcome"),
        _step("second_sms", Offset(minutes=3), Channel.SMS, "engagement/four_cs"),
        _step("late_sms", Offset(hours=10), Channel.SMS, "engagement/viewing_invite"),  # 23:00
        _step("refused_sms", Offset(days=2), Channel.SMS, "engagement/four_cs"),
    ),
)


def _next_monday_at_one(now: datetime) -> datetime:
    today = now.astimezone(KOLKATA).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, time(13), tzinfo=KOLKATA)


def _lead_touches(timeline: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    def moment(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return {
        entry["step_id"]: (entry["status"], entry["reason"], moment(entry["held_until"]))
        for entry in timeline["entries"]
        if entry["type"] == "touch" and entry["to"] == "lead"
    }


async def test_the_timeline_shows_each_held_back_message_with_its_reason(
    time_skipping, database, store, api_key, standin, worker_for
):
    env = time_skipping
    lead_id = make_lead(
        database, store, consent=[Channel.SMS, Channel.WHATSAPP], timezone=str(KOLKATA)
    )
    monday = _next_monday_at_one(await env.get_current_time())
    await env.sleep(monday - await env.get_current_time())
    workflow_id, start = enroll(
        database, lead_id, sequence=GATED, enrolled_at=await env.get_current_time()
    )
    staff = {"Authorization": f"Bearer {api_key(ApiRole.ASSOCIATE, store_id=store.id)}"}
    url = f"/v1/leads/{lead_id}/timeline"
    tuesday_ten = monday + timedelta(days=1, hours=-3)

    async with (
        worker_for(env.client, settings_for(standin)) as task_queue,
        api_client(database, env.client, task_queue) as http,
    ):
        handle = await env.client.start_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )
        await env.sleep(timedelta(hours=12))  # Tuesday 01:00: the late SMS is held
        held = _lead_touches((await http.get(url, headers=staff)).json())

        await env.sleep(timedelta(hours=11))  # Tuesday 12:00: it went out at 10:00
        standin.fail_next(twilio_error(21211))  # Twilio: "not a valid phone number"
        await handle.result()
        done = _lead_touches((await http.get(url, headers=staff)).json())

    assert held == {
        "by_email": ("suppressed", "no_consent", None),
        "on_whatsapp": ("suppressed", "window_closed", None),
        "first_sms": ("sent", None, None),
        "second_sms": ("suppressed", "frequency_cap", None),  # one marketing message a day
        "late_sms": ("held", "quiet_hours", tuesday_ten),
    }
    assert done == {
        **held,
        "late_sms": ("sent", None, tuesday_ten),  # sent, and still shows it was held
        "refused_sms": ("suppressed", "invalid_contact", None),
    }
    assert len(standin.accepted("/Messages.json")) == 2
