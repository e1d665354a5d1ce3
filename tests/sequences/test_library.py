"""The default sequence library: every journey loads, every message it sends renders on every
channel it can go out on, and the journeys keep the promises the domain report makes
(timings, who gets a task, STOP lines, no loops into dead steps)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from sequences.calendar import LUNAR_FESTIVALS, festival_in_year, next_festival
from sequences.loader import LIBRARY_DIR, load_library
from sequences.model import (
    Condition,
    FestivalDate,
    NextDate,
    OccasionDate,
    Offset,
    SendAction,
    Sequence,
    Step,
    TaskAction,
    WaitFor,
)
from sequences.preview import LeadSample, PlannedStep, plan
from sequences.templates import SAMPLE_FIELDS, load_template, render
from sequences.vocabulary import Channel, EventKind, Festival, Occasion, Purpose, Segment, StaffRole

LIBRARY = load_library()

EXPECTED_KEYS = {
    "engagement_ring",
    "custom_order",
    "anniversary_countdown",
    "birthday_countdown",
    "bridal",
    "festive_diwali",
    "festive_akshaya_tritiya",
    "gifting_valentines",
    "gifting_mothers_day",
    "post_purchase",
    "win_back",
    "welcome",
    "anniversary",
    "daily_wear",
    "gold_scheme",
    "gold_scheme_instalments",
    "repair",
    "gifting",
}
STOP_LINE = "Reply STOP to opt out."
SMS_LIMIT = 320  # two concatenated segments
WHATSAPP_LIMIT = 600  # marketing on WhatsApp is short; Meta's hard limit is 1,024


def _send(step: Step) -> SendAction:
    assert step.send is not None, f"{step.id} sends nothing"
    return step.send


def _task(step: Step) -> TaskAction:
    assert step.task is not None, f"{step.id} opens no task"
    return step.task


def _when(step: Step) -> Condition:
    assert step.when is not None, f"{step.id} has no condition"
    return step.when


def _wait(step: Step) -> WaitFor:
    assert step.wait_for is not None, f"{step.id} waits for nothing"
    return step.wait_for


SENDS = [
    (sequence.key, step.id, step.send)
    for sequence in LIBRARY.values()
    for step in sequence.steps
    if step.send is not None
]
TEMPLATES = sorted({send.template for _, _, send in SENDS})
RENDERINGS = sorted(
    (name, channel) for name in TEMPLATES for channel in load_template(name).channels()
)
MARKETING_SMS = sorted(
    {
        send.template
        for _, _, send in SENDS
        if send.purpose is Purpose.MARKETING and load_template(send.template).sms
    }
)


def test_every_library_file_loads_under_the_key_of_its_file_name():
    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        assert yaml.safe_load(path.read_text())["key"] == path.stem, path.name
    assert set(LIBRARY) >= EXPECTED_KEYS


@pytest.mark.parametrize("key", sorted(EXPECTED_KEYS))
def test_published_body_validates_back_to_the_same_sequence(key):
    # The database stores model_dump(by_alias=True); `else` must survive the trip.
    sequence = LIBRARY[key]
    body = sequence.model_dump(mode="json", by_alias=True)
    assert Sequence.model_validate(body) == sequence


@pytest.mark.parametrize(("name", "channel"), RENDERINGS)
def test_every_variant_of_every_template_renders_with_the_sample_fields(name, channel):
    message = render(name, channel, SAMPLE_FIELDS)
    assert SAMPLE_FIELDS.first_name in message.body or SAMPLE_FIELDS.store_name in message.body
    assert "{{" not in message.body and "{%" not in message.body
    if channel is Channel.EMAIL:
        assert message.subject and "\n" not in message.subject
        assert message.body.lstrip().startswith("<p>")
    else:
        assert message.subject is None
        assert "<" not in message.body, "SMS and WhatsApp are plain text"


@pytest.mark.parametrize(("key", "step_id", "send"), SENDS, ids=lambda v: getattr(v, "template", v))
def test_a_template_has_every_variant_its_step_may_send(key, step_id, send):
    needed = set(Channel) if send.channel == "preferred" else {Channel(send.channel)}
    missing = needed - load_template(send.template).channels()
    assert not missing, f"{key}.{step_id}: {send.template} lacks {sorted(missing)}"


@pytest.mark.parametrize("name", MARKETING_SMS)
def test_marketing_sms_ends_with_the_stop_line_and_fits_two_segments(name):
    body = render(name, Channel.SMS, SAMPLE_FIELDS).body
    assert body.endswith(STOP_LINE), body
    assert len(body) <= SMS_LIMIT, f"{len(body)} characters: {body}"


# GSM 03.38 (basic set and extension): anything else, an emoji or a curly quote, turns the
# whole text into UCS-2 and a 320-character message into five segments.
GSM_7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


@pytest.mark.parametrize("name", [n for n in TEMPLATES if load_template(n).sms])
def test_sms_uses_only_the_gsm_alphabet(name):
    body = render(name, Channel.SMS, SAMPLE_FIELDS).body
    assert set(body) <= GSM_7, sorted(set(body) - GSM_7)


def test_transactional_sms_also_fits_two_segments():
    transactional = {
        send.template
        for _, _, send in SENDS
        if send.purpose is Purpose.TRANSACTIONAL and load_template(send.template).sms
    }
    assert transactional, "the order and thank-you messages have SMS variants"
    for name in transactional:
        assert len(render(name, Channel.SMS, SAMPLE_FIELDS).body) <= SMS_LIMIT, name


@pytest.mark.parametrize("name", [n for n in TEMPLATES if load_template(n).whatsapp])
def test_whatsapp_is_short_and_neither_starts_nor_ends_with_a_merge_field(name):
    # WhatsApp refuses templates whose body starts or ends with a variable.
    raw = (load_template(name).whatsapp or "").strip()
    assert not raw.startswith(("{{", "{%")) and not raw.endswith(("}}", "%}")), raw
    assert len(render(name, Channel.WHATSAPP, SAMPLE_FIELDS).body) <= WHATSAPP_LIMIT


def test_every_enroll_names_another_sequence_in_the_library():
    enrolls = {(key, target) for key, seq in LIBRARY.items() for target in seq.enrolls()}
    assert enrolls >= {
        ("engagement_ring", "win_back"),
        ("custom_order", "post_purchase"),
        ("custom_order", "win_back"),
        ("post_purchase", "festive_diwali"),
    }
    for key, target in enrolls:
        assert target in LIBRARY, f"{key} enrolls unknown sequence {target!r}"
        assert target != key, f"{key} enrolls itself"


def _falls_through(step: Step) -> bool:
    """Whether running `step` can continue at the step written after it."""
    if (step.exit is not None or step.goto is not None) and step.when is None:
        return False  # a conditional exit or goto that does not hold falls through
    wait = step.wait_for
    return wait is None or wait.then is None or wait.otherwise is None


@pytest.mark.parametrize("key", sorted(LIBRARY))
def test_every_step_can_be_reached(key):
    steps = LIBRARY[key].steps
    targets = {step.goto for step in steps} | {
        target
        for step in steps
        if step.wait_for is not None
        for target in (step.wait_for.then, step.wait_for.otherwise)
    }
    for before, step in itertools.pairwise(steps):
        assert _falls_through(before) or step.id in targets, f"{key}: {step.id} is unreachable"


@pytest.mark.parametrize(
    ("key", "occasion", "days_before"),
    [
        ("anniversary_countdown", Occasion.ANNIVERSARY, [45, 30, 14, 0]),
        ("birthday_countdown", Occasion.BIRTHDAY, [30, 14, 0]),
    ],
)
def test_countdowns_send_on_their_occasion_and_count_down_to_it(key, occasion, days_before):
    countdown = LIBRARY[key]
    assert countdown.occasion is occasion
    assert countdown.goal is EventKind.PURCHASE
    dated = [(step, step.at) for step in countdown.steps if isinstance(step.at, OccasionDate)]
    assert len(dated) == len(countdown.steps), "every countdown step is dated from the occasion"
    sent = [at.before.days for step, at in dated if step.send is not None and at.before is not None]
    assert set(days_before) <= set(sent)
    assert sent == sorted(sent, reverse=True)


def test_anniversary_is_for_the_gift_giver_with_a_personal_touch_for_vips():
    anniversary = LIBRARY["anniversary_countdown"]
    [vip] = [
        step
        for step in anniversary.steps
        if step.task is not None and step.at == OccasionDate(of="anniversary", before={"days": 45})
    ]
    assert _task(vip).role is StaffRole.ASSOCIATE
    assert _when(vip).attributes == {"vip": "yes"}
    assert anniversary.segment is Segment.ANNIVERSARY


def test_only_yearly_countdowns_declare_an_occasion():
    countdowns = {key for key, seq in LIBRARY.items() if seq.occasion is not None}
    assert countdowns == {"anniversary_countdown", "birthday_countdown"}


def _last_offset_day(sequence: Sequence) -> float:
    offsets = [step.at for step in sequence.steps if isinstance(step.at, Offset)]
    return offsets[-1].as_timedelta() / timedelta(days=1)


def test_engagement_ring_journey_spans_60_to_90_days_and_ends_in_win_back():
    ring = LIBRARY["engagement_ring"]
    assert 60 <= _last_offset_day(ring) <= 90
    assert ring.steps[-1].enroll is not None and ring.steps[-1].enroll.sequence == "win_back"
    assert ring.goal is EventKind.PURCHASE and EventKind.OPTED_OUT in ring.exit_on
    assert ring.reply_pauses == Offset(hours=72)
    expert = ring.on_event[EventKind.TECHNICAL_QUESTION].task
    assert expert is not None and expert.role is StaffRole.GEMOLOGIST
    assert ring.on_event[EventKind.APPOINTMENT_BOOKED].pause == Offset(days=1)


def test_engagement_ring_hands_off_to_people_on_the_domain_report_schedule():
    ring = LIBRARY["engagement_ring"]
    timed_tasks = {
        (_task(step).role, step.at.as_timedelta())
        for step in ring.steps
        if step.task is not None and isinstance(step.at, Offset)
    }
    assert timed_tasks >= {
        (StaffRole.ASSOCIATE, timedelta(hours=1)),
        (StaffRole.ASSOCIATE, timedelta(days=7)),
        (StaffRole.GEMOLOGIST, timedelta(days=21)),
        (StaffRole.MANAGER, timedelta(days=60)),
    }


def test_engagement_consultation_invite_calls_only_when_nothing_is_booked():
    steps = {step.id: step for step in LIBRARY["engagement_ring"].steps}
    wait = _wait(steps["consultation_invite"])
    assert wait.event is EventKind.APPOINTMENT_BOOKED and wait.within == Offset(days=7)
    assert wait.otherwise is not None and wait.then is not None
    assert _task(steps[wait.otherwise]).role is StaffRole.ASSOCIATE
    assert steps[wait.then].task is None, "a booking skips the call"
    season = [
        (step.at.next, _when(step).score_at_least)
        for step in steps.values()
        if isinstance(step.at, NextDate)
    ]
    assert season == [("12-01 10:00", 40)]


def test_custom_order_follows_the_job_through_each_status_to_pickup():
    custom = LIBRARY["custom_order"]
    statuses: list[str] = []
    for step in custom.steps:
        if step.wait_for is not None:
            assert step.wait_for.event is EventKind.JOB_STATUS
            status = step.wait_for.where["status"]
            if status not in statuses:
                statuses.append(status)
    assert statuses == ["cad_ready", "approved", "in_production", "ready", "picked_up"]
    assert custom.goal is None
    [cad] = [step for step in custom.steps if step.task and step.task.role is StaffRole.DESIGNER]
    assert _task(cad).sla == Offset(days=4)
    ids = [step.id for step in custom.steps]
    picked_up = next(
        step for step in custom.steps if step.exit and step.exit.outcome == "picked_up"
    )
    before = custom.steps[ids.index(picked_up.id) - 1]
    assert before.enroll is not None and before.enroll.sequence == "post_purchase"


def test_post_purchase_thanks_transactionally_then_markets_and_never_converts():
    after = LIBRARY["post_purchase"]
    sends = [step for step in after.steps if step.send is not None]
    assert sends[0].at == Offset(hours=2)
    assert _send(sends[0]).purpose is Purpose.TRANSACTIONAL
    assert all(_send(step).purpose is Purpose.MARKETING for step in sends[1:])
    assert after.goal is None and after.exit_on == (EventKind.OPTED_OUT,)
    assert "festive_diwali" in after.enrolls()
    days = {step.at.days for step in after.steps if isinstance(step.at, Offset)}
    assert {3, 7, 14, 30, 60, 180, 335, 730} <= days


def test_win_back_calls_only_strong_leads_and_sunsets_the_silent():
    win_back = LIBRARY["win_back"]
    [task] = [step for step in win_back.steps if step.task is not None]
    assert task.at == Offset(days=7) and _when(task).score_at_least == 50
    last_send = [step for step in win_back.steps if step.send is not None][-1]
    assert last_send.at == Offset(days=42)
    sunset = next(step for step in win_back.steps if step.id == _wait(last_send).otherwise)
    assert sunset.exit is not None and sunset.exit.outcome == "sunset"


def test_bridal_counts_back_from_the_wedding_and_ends_after_it():
    bridal = LIBRARY["bridal"]
    dated = [step.at for step in bridal.steps if isinstance(step.at, OccasionDate)]
    assert {at.of for at in dated} == {Occasion.WEDDING}
    shifts = [at.shift().days for at in dated]
    assert min(shifts) <= -170 and {-3, 30} <= set(shifts) and max(shifts) == 30
    roles = {step.task.role for step in bridal.steps if step.task is not None}
    assert roles >= {StaffRole.ASSOCIATE, StaffRole.GEMOLOGIST}


def _festival_steps(sequence: Sequence) -> list[tuple[Step, FestivalDate]]:
    return [(step, step.at) for step in sequence.steps if isinstance(step.at, FestivalDate)]


FESTIVE = sorted(key for key, seq in LIBRARY.items() if _festival_steps(seq))
YEARS = sorted({year for table in LUNAR_FESTIVALS.values() for year in table})


@pytest.mark.parametrize("key", FESTIVE)
@pytest.mark.parametrize("year", YEARS)
def test_festival_steps_come_due_in_the_order_they_are_written(key, year):
    due: list[tuple[date, str]] = []
    for step, at in _festival_steps(LIBRARY[key]):
        day = festival_in_year(at.festival, year)
        assert day is not None, f"{at.festival} has no date in {year}"
        due.append((day + at.shift(), step.id))
    assert [d for d, _ in due] == sorted(d for d, _ in due), due


def test_diwali_sends_nothing_on_diwali_itself_and_no_festival_claims_a_segment():
    diwali = LIBRARY["festive_diwali"]
    festivals = {at.festival for _, at in _festival_steps(diwali)}
    assert festivals == {Festival.DHANTERAS, Festival.DIWALI}
    for step, at in _festival_steps(diwali):
        assert not (at.festival is Festival.DIWALI and at.shift() >= timedelta(0)), step.id
    for key in (
        "festive_diwali",
        "festive_akshaya_tritiya",
        "gifting_valentines",
        "gifting_mothers_day",
    ):
        assert LIBRARY[key].segment is None


@pytest.mark.parametrize("key", sorted(LIBRARY))
def test_dated_sends_are_timed_inside_every_quiet_hours_window(key):
    # The strictest windows the send gate knows: India promotional from 10:00, Rhode Island
    # weekends until 17:00. A send timed outside them would only wait for the gate.
    for step in LIBRARY[key].steps:
        if step.send is None or step.at is None or isinstance(step.at, Offset):
            continue
        clock = step.at.next[-5:] if isinstance(step.at, NextDate) else step.at.time
        assert "10:00" <= clock <= "17:00", f"{key}.{step.id} sends at {clock}"


# --- a journey for every segment -----------------------------------------------------------

SEGMENT_JOURNEYS = {
    Segment.ENGAGEMENT: "engagement_ring",
    Segment.BRIDAL: "bridal",
    Segment.CUSTOM_DESIGN: "custom_order",
    Segment.ANNIVERSARY: "anniversary",
    Segment.GIFTING: "gifting",
    Segment.DAILY_WEAR: "daily_wear",
    Segment.GOLD_SCHEME: "gold_scheme",
    Segment.REPAIR: "repair",
}
IST_START = datetime(2027, 3, 10, 11, 0, tzinfo=ZoneInfo("Asia/Kolkata"))


def test_every_segment_has_exactly_one_journey_of_its_own():
    # The capture takes the newest journey naming the segment; two would be a coin toss.
    claimed: dict[Segment, list[str]] = {}
    for key, sequence in LIBRARY.items():
        if sequence.segment is not None and sequence.occasion is None:
            claimed.setdefault(sequence.segment, []).append(key)
    assert claimed == {segment: [key] for segment, key in SEGMENT_JOURNEYS.items()}


@pytest.mark.parametrize("segment", sorted(set(SEGMENT_JOURNEYS) - {Segment.ENGAGEMENT}))
def test_each_segment_is_welcomed_at_once_in_its_own_words_never_the_engagement_copy(segment):
    sequence = LIBRARY[SEGMENT_JOURNEYS[segment]]
    first = next(step for step in sequence.steps if step.send is not None)
    assert first.at == Offset(minutes=0)
    assert _send(first).purpose is Purpose.TRANSACTIONAL
    for template in sequence.templates():
        assert not template.startswith("engagement/"), template
        for channel in load_template(template).channels():
            said = render(template, channel, SAMPLE_FIELDS)
            text = f"{said.subject or ''} {said.body}".lower()
            assert "4cs" not in text and "engagement ring" not in text, (template, channel)


def test_the_fallback_welcome_is_neutral_and_hands_the_lead_to_a_person():
    welcome = LIBRARY["welcome"]
    assert welcome.segment is None and welcome.occasion is None
    first, task, check_in = welcome.steps
    assert _send(first).template == "welcome/thank_you"
    assert _send(first).purpose is Purpose.TRANSACTIONAL
    assert (_task(task).role, _task(task).kind) == (StaffRole.ASSOCIATE, "choose_journey")
    assert check_in.at == Offset(days=7) and _when(check_in).not_seen is EventKind.REPLY
    for template in welcome.templates():
        for channel in load_template(template).channels():
            said = render(template, channel, SAMPLE_FIELDS)
            text = f"{said.subject or ''} {said.body}".lower()
            for word in ("ring", "diamond", "bridal", "wedding", "gold", "gift", "repair"):
                assert word not in text, (template, channel, word)


def _planned(key: str, occasions: dict[Occasion, date] | None = None) -> list[PlannedStep]:
    return plan(LIBRARY[key], LeadSample("Asia/Kolkata", occasions=occasions), IST_START)


def test_anniversary_asks_for_the_date_while_unknown_and_hands_over_once_known():
    unknown = [(p.step_id, p.action) for p in _planned("anniversary") if p.action != "skipped"]
    assert unknown == [
        ("welcome_ask_date", "send"),
        ("ask_in_person", "task"),
        ("date_reminder", "send"),
        ("ideas_any_time", "send"),
        ("last_ask", "send"),
    ]
    known = _planned("anniversary", {Occasion.ANNIVERSARY: date(2015, 6, 20)})
    assert [(p.step_id, p.action) for p in known if p.action != "skipped"] == [
        ("welcome_date_known", "send"),
        ("hand_over", "exit"),
    ]
    assert known[-1].detail == "handed_to_countdown"
    # The countdown it hands over to is the yearly one for the same occasion.
    assert LIBRARY["anniversary_countdown"].occasion is Occasion.ANNIVERSARY


def test_gold_scheme_starts_its_reminders_with_the_first_instalment():
    enquiry = LIBRARY["gold_scheme"]
    steps = {step.id: step for step in enquiry.steps}
    assert _when(steps["paid_already"]).seen is EventKind.SCHEME_INSTALMENT
    assert steps["paid_already"].goto == "start_instalments"
    for waiting in ("wait_for_first_instalment", "how_to_join"):
        wait = _wait(steps[waiting])
        assert wait.event is EventKind.SCHEME_INSTALMENT and wait.then == "start_instalments"
    assert enquiry.enrolls() == {"gold_scheme_instalments"}


def test_gold_scheme_reminds_before_each_monthly_instalment_then_at_maturity():
    scheme = LIBRARY["gold_scheme_instalments"]
    assert scheme.goal is None and scheme.exit_on == (), "service messages about her own scheme"
    reminders = [
        step.at.days
        for step in scheme.steps
        if step.send is not None and step.send.template == "gold_scheme/instalment_due"
        and isinstance(step.at, Offset)
    ]  # fmt: skip
    # Instalments 2 to 11 fall a calendar month apart; each reminder is three days before.
    assert reminders == [round(month * 30.44) - 3 for month in range(1, 11)]
    steps = {step.id: step for step in scheme.steps}
    assert steps["maturity"].at == Offset(days=335)  # 11 months
    assert _task(steps["book_redemption"]).kind == "scheme_maturity"
    assert steps["redeem_reminder"].at == Offset(days=380)  # inside 60 days of maturity
    assert all(_send(s).purpose is Purpose.TRANSACTIONAL for s in scheme.steps if s.send)


def test_repair_follows_the_job_from_drop_off_to_pickup():
    repair = LIBRARY["repair"]
    statuses = []
    for step in repair.steps:
        if step.wait_for is not None:
            assert step.wait_for.event is EventKind.JOB_STATUS
            if step.wait_for.where["status"] not in statuses:
                statuses.append(step.wait_for.where["status"])
    assert statuses == ["received", "ready", "picked_up"]
    assert repair.goal is None and repair.exit_on == ()


@pytest.mark.parametrize("month", range(1, 13))
def test_gifting_counts_to_the_next_festival_of_any_month_not_only_diwali(month):
    start = IST_START.replace(month=month, day=5)
    planned = plan(LIBRARY["gifting"], LeadSample("Asia/Kolkata"), start)
    ideas = next(p for p in planned if p.step_id == "occasion_ideas")
    soonest = min(
        day for festival in Festival if (day := next_festival(festival, start.date())) is not None
    )
    assert ideas.at.date() == soonest - timedelta(days=21)
    # The longest gap is June to Dhanteras (no summer gifting day in the calendar yet).
    assert (soonest - start.date()).days < 150, "a gift enquiry never waits half a year"


def test_gifting_counts_to_the_recipients_birthday_when_the_lead_gave_it():
    birthday = date(1990, 4, 2)
    planned = _planned("gifting", {Occasion.BIRTHDAY: birthday})
    dated = [p for p in planned if p.step_id in ("occasion_ideas", "occasion_picks", "last_week")]
    assert [p.at.date() for p in dated] == [
        date(2027, 4, 2) - timedelta(days=days) for days in (21, 10, 5)
    ]
