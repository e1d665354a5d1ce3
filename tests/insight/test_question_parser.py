"""The question parser, table-driven, at a fixed today: Thu 26 Nov 2026 in Bengaluru.

Each row: the question, then what it must parse to — a metric with its dimensions, filters,
half-open period [first day, day after the last) in store time and whether it compares; or a
clarification; or "can't answer yet".
"""

from __future__ import annotations

from datetime import date

import pytest

from insight.period import Period, PeriodGrammar
from insight.question import EXAMPLES, Clarify, Query, Unknown, parse

TODAY = date(2026, 11, 26)  # a Thursday
ZONE = "Asia/Kolkata"
CLARIFY, UNKNOWN = "clarify", "unknown"

D = date
TABLE: list[tuple[str, object]] = [
    ("How many leads came in this week?",
     ("leads_created", (), {}, D(2026, 11, 23), D(2026, 11, 27), False)),
    ("How many leads came from Instagram last week?",
     ("leads_created", (), {"source": "instagram"}, D(2026, 11, 16), D(2026, 11, 23), False)),
    ("leads by source this month",
     ("leads_created", ("source",), {}, D(2026, 11, 1), D(2026, 11, 27), False)),
    ("What was our conversion this week?",
     ("conversion", (), {}, D(2026, 11, 23), D(2026, 11, 27), False)),
    ("convertion rate last month",  # a typo
     ("conversion", (), {}, D(2026, 10, 1), D(2026, 11, 1), False)),
    ("revnue by sequnce this quarter",  # two typos, one phrase
     ("attributed_revenue", (), {}, D(2026, 10, 1), D(2026, 11, 27), False)),
    ("how many apointments were booked yesterday",  # a typo
     ("appointments_booked", (), {}, D(2026, 11, 25), D(2026, 11, 26), False)),
    ("Revenue by sequence this quarter",
     ("attributed_revenue", ("sequence",), {}, D(2026, 10, 1), D(2026, 11, 27), False)),
    ("revenue last month compared with the month before",
     ("revenue", (), {}, D(2026, 10, 1), D(2026, 11, 1), True)),
    ("leads from whatsapp this week vs last week",
     ("leads_created", (), {"source": "whatsapp"}, D(2026, 11, 23), D(2026, 11, 27), True)),
    ("how many bridal leads went cold last month",  # "went cold" outranks "leads"
     ("going_cold", (), {"segment": "bridal"}, D(2026, 10, 1), D(2026, 11, 1), False)),
    ("Which associate has the most open tasks right now?",
     ("open_tasks", ("associate",), {}, D(2026, 11, 26), D(2026, 11, 27), False)),
    ("what's our speed to lead in Q3",
     ("speed_to_lead_automated", (), {}, D(2026, 7, 1), D(2026, 10, 1), False)),
    ("how fast did staff contact new leads in the last 7 days",
     ("speed_to_lead_human", (), {}, D(2026, 11, 20), D(2026, 11, 27), False)),
    ("conversion by source and segment year to date",
     ("conversion", ("source", "segment"), {}, D(2026, 1, 1), D(2026, 11, 27), False)),
    ("delivery rate of sms since 3 Oct",
     ("delivery_rate", (), {"channel": "sms"}, D(2026, 10, 3), D(2026, 11, 27), False)),
    ("opt-outs between 1/10/2026 and 15/10/2026",  # day first: an Indian store
     ("opt_outs", (), {}, D(2026, 10, 1), D(2026, 10, 16), False)),
    ("messages held back by reason in september",
     ("suppressed_messages", ("reason",), {}, D(2026, 9, 1), D(2026, 10, 1), False)),
    ("show rate in December",  # December has not come yet this year: last year's
     ("show_rate", (), {}, D(2025, 12, 1), D(2026, 1, 1), False)),
    ("reply rate per step over the last 2 weeks",
     ("reply_rate", ("step",), {}, D(2026, 11, 13), D(2026, 11, 27), False)),
    ("new leads today", ("leads_created", (), {}, D(2026, 11, 26), D(2026, 11, 27), False)),
    ("pipeline by segment and stage",  # no period: the last 30 days
     ("pipeline", ("segment", "stage"), {}, D(2026, 10, 28), D(2026, 11, 27), False)),
    ("how are we doing?", CLARIFY),
    ("what's the rate this week", CLARIFY),  # conversion? delivery? reply? show?
    ("what's our speed", CLARIFY),  # automated or a person?
    ("what's the weather in Paris", UNKNOWN),
    ("'; DROP TABLE lead; --", UNKNOWN),
    ("how many leeds this week", UNKNOWN),  # too far from "leads" to be sure: never a guess
    ("", UNKNOWN),
]  # fmt: skip


@pytest.mark.parametrize(("question", "expected"), TABLE, ids=[q or "empty" for q, _ in TABLE])
def test_a_question_parses_to_its_query_at_a_fixed_today(question, expected):
    parsed = parse(question, today=TODAY, zone=ZONE, order="DMY")
    if expected == CLARIFY:
        assert isinstance(parsed, Clarify) and parsed.choices, parsed
        for choice in parsed.choices:  # every choice is a question it does answer
            assert isinstance(parse(choice, today=TODAY, zone=ZONE), Query), choice
        return
    if expected == UNKNOWN:
        assert isinstance(parsed, Unknown), parsed
        assert len(parsed.suggestions) == 3
        assert parsed.message.startswith("I can't answer that yet")
        return
    metric, dims, filters, first, end, compare = expected
    assert isinstance(parsed, Query), parsed
    assert (parsed.metric, parsed.dimensions, parsed.filters, parsed.compare) == (
        metric, dims, filters, compare,
    )  # fmt: skip
    assert parsed.period == Period.of_days(first, end, ZONE, parsed.period.name)


def test_the_table_has_twenty_questions_and_every_kind_of_answer():
    assert len(TABLE) >= 20
    assert {CLARIFY, UNKNOWN} <= {e for _, e in TABLE if isinstance(e, str)}


def test_every_example_offered_to_a_person_is_a_question_it_answers():
    for example in EXAMPLES:
        assert isinstance(parse(example, today=TODAY, zone=ZONE), Query), example


def test_a_us_store_reads_dates_month_first():
    parsed = parse("leads between 10/1/2026 and 10/15/2026", today=TODAY, zone="America/New_York",
                   order="MDY")  # fmt: skip
    assert isinstance(parsed, Query)
    assert parsed.period == Period.of_days(
        D(2026, 10, 1), D(2026, 10, 16), "America/New_York", parsed.period.name
    )


def test_periods_are_cut_at_the_stores_midnight_not_utcs():
    period = PeriodGrammar(TODAY, ZONE).find("yesterday")
    assert period is not None
    # midnight in Bengaluru is 18:30 UTC the day before
    assert period.period.start.isoformat() == "2026-11-24T18:30:00+00:00"
    assert period.period.end.isoformat() == "2026-11-25T18:30:00+00:00"
    assert period.period.label() == "Wed 25 Nov 2026"
