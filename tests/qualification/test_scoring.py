"""The explainable score, its decay, tiers and hard triggers: pure functions, table-driven."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from qualification.facts import LeadFacts, Signal
from qualification.scoring import (
    ScoringConfig,
    Tier,
    Trigger,
    budget_band,
    decay,
    explainable_score,
    role_for_text,
    triggers_in,
)
from sequences.vocabulary import StaffRole

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
CONFIG = ScoringConfig()


def _facts(*signals: Signal, **fields) -> LeadFacts:
    return LeadFacts(
        captured_at=NOW - timedelta(days=40), source="web_form", signals=signals, **fields
    )


def _ago(kind: str, days: float, **payload) -> Signal:
    return Signal(kind=kind, at=NOW - timedelta(days=days), **payload)


@pytest.mark.parametrize(
    ("age_days", "half_life", "left"),
    [(0, 14, 1.0), (14, 14, 0.5), (28, 14, 0.25), (7, 7, 0.5), (-1, 14, 1.0)],
)
def test_points_halve_every_half_life(age_days, half_life, left):
    assert decay(age_days, half_life) == pytest.approx(left)


def test_a_visit_today_outweighs_the_same_visit_a_month_ago():
    fresh = explainable_score(_facts(_ago("store_visit", 0)), NOW, CONFIG)
    old = explainable_score(_facts(_ago("store_visit", 28)), NOW, CONFIG)
    assert fresh.value == 20 and old.value == 5


def test_half_life_is_configurable():
    slow = ScoringConfig(half_life_days=28)
    assert explainable_score(_facts(_ago("store_visit", 28)), NOW, slow).value == 10


@pytest.mark.parametrize(
    ("fields", "signals", "score", "tier"),
    [
        ({}, [], 0, Tier.COLD),
        ({"budget_band": "luxury", "repeat_customer": True}, [], 25, Tier.COLD),
        (
            {"budget_band": "high", "occasion_date": date(2026, 6, 20), "source": "referral"},
            [("store_visit", 0)],
            53,
            Tier.WARM,
        ),
        (
            {"budget_band": "luxury", "occasion_date": date(2026, 7, 1), "repeat_customer": True},
            [("store_visit", 0), ("reply", 0), ("technical_question", 1)],
            80,
            Tier.HOT,
        ),
    ],
)
def test_fit_plus_engagement_gives_score_and_tier(fields, signals, score, tier):
    # luxury 15 + occasion in 30 days 15 + repeat 10 = 40; visit 20 + reply 10 + a day-old
    # technical question 9.5 = 39.5; 80 in all.
    source = fields.pop("source", "web_form")
    facts = LeadFacts(
        captured_at=NOW - timedelta(days=5),
        source=source,
        signals=tuple(_ago(kind, days) for kind, days in signals),
        **fields,
    )
    result = explainable_score(facts, NOW, CONFIG)
    assert (result.value, result.tier) == (score, tier)


def test_tiers_follow_the_configured_thresholds():
    facts = _facts(_ago("store_visit", 0), _ago("reply", 0))  # 30 points
    assert explainable_score(facts, NOW, CONFIG).tier is Tier.COLD
    assert explainable_score(facts, NOW, ScoringConfig(warm_at=25)).tier is Tier.WARM
    assert explainable_score(facts, NOW, ScoringConfig(warm_at=20, hot_at=30)).tier is Tier.HOT


def test_explanation_names_top_positive_and_negative_factors():
    facts = _facts(
        _ago("store_visit", 0),
        _ago("product_view", 0, seconds=120),
        _ago("email_opened", 1),
        _ago("opted_out", 0),
        budget_band="high",
    )
    result = explainable_score(facts, NOW, CONFIG)
    assert [f.name for f in result.positive] == ["store_visit", "budget", "product_view"]
    assert [f.name for f in result.negative] == ["opted_out"]
    assert result.explanation()["model_version"] == "rules-v1"
    assert result.positive[2].points == 5.0  # 3 for the view + 2 minutes on the page


def test_a_long_silence_counts_against_the_lead():
    result = explainable_score(_facts(_ago("store_visit", 45)), NOW, CONFIG)
    assert ("silence", -5.0) in [(f.name, f.points) for f in result.negative]


@pytest.mark.parametrize(
    ("signal", "budget", "expected"),
    [
        (
            Signal("appointment_requested", NOW),
            None,
            [(Trigger.APPOINTMENT_REQUEST, StaffRole.ASSOCIATE)],
        ),
        (
            Signal("question", NOW, text="Is the 1.5 ct solitaire GIA certified?"),
            None,
            [(Trigger.CERTIFICATION_QUESTION, StaffRole.GEMOLOGIST)],
        ),
        (
            Signal(
                "technical_question",
                NOW,
                text="Does it come with a certificate?",
                value_minor=45_000_000,
            ),
            None,
            [(Trigger.CERTIFICATION_QUESTION, StaffRole.GEMOLOGIST)],
        ),
        (
            Signal("question", NOW, text="Does it come with a certificate?", value_minor=900_000),
            None,
            [],
        ),
        (
            Signal("question", NOW, text="Is it IGI certified?"),
            "luxury",
            [(Trigger.CERTIFICATION_QUESTION, StaffRole.GEMOLOGIST)],
        ),
        (
            Signal("reply", NOW, text="I'm ready to buy, can you hold it for me?"),
            None,
            [(Trigger.READY_TO_BUY, StaffRole.ASSOCIATE)],
        ),
        (Signal("reply", NOW, text="Maybe next year"), None, []),
        (Signal("product_view", NOW), None, []),
    ],
)
def test_hard_triggers(signal, budget, expected):
    hits = triggers_in(signal, _facts(budget_band=budget), CONFIG)
    assert [(h.trigger, h.role_needed) for h in hits] == expected


def test_a_hard_trigger_makes_a_cold_lead_hot_at_once():
    question = Signal("question", NOW, text="Is the 2 carat stone GIA certified?")
    result = explainable_score(_facts(question), NOW, CONFIG, trigger_signal=question)
    assert result.value < CONFIG.warm_at
    assert result.tier is Tier.HOT
    assert result.explanation()["triggers"][0]["role_needed"] == "gemologist"


@pytest.mark.parametrize(
    ("text", "segment", "role"),
    [
        ("What clarity is this diamond?", None, StaffRole.GEMOLOGIST),
        ("Can I get an appraisal for insurance?", None, StaffRole.GEMOLOGIST),
        ("Could you make a custom pendant from my sketch?", None, StaffRole.DESIGNER),
        ("When are you open?", "custom_design", StaffRole.DESIGNER),
        ("When are you open?", "engagement", StaffRole.ASSOCIATE),
        (None, None, StaffRole.ASSOCIATE),
    ],
)
def test_role_needed_follows_the_question(text, segment, role):
    assert role_for_text(text, segment) is role


@pytest.mark.parametrize(
    ("days", "hot"),
    [(10, True), (88, True), (180, True), (200, False), (-3, False)],
)
def test_a_wedding_within_six_months_is_hot_and_named(days, hot):
    day = NOW.date() + timedelta(days=days)
    facts = _facts(occasion_date=day, occasion_kind="wedding", occasions=(("wedding", day),))
    result = explainable_score(facts, NOW, CONFIG)

    assert (result.tier is Tier.HOT) is hot
    labels = [f.label for f in result.positive]
    if hot:
        assert f"wedding on {day.isoformat()}, in {days} days" in labels


def test_an_anniversary_soon_counts_but_does_not_make_the_lead_hot():
    day = NOW.date() + timedelta(days=20)
    facts = _facts(
        occasion_date=day, occasion_kind="anniversary", occasions=(("anniversary", day),)
    )
    result = explainable_score(facts, NOW, CONFIG)
    assert result.tier is Tier.COLD
    assert [f.label for f in result.positive] == [f"anniversary on {day.isoformat()}, in 20 days"]


@pytest.mark.parametrize(
    ("amount", "currency", "band", "label"),
    [
        (60_000_000, "INR", "luxury", "budget INR 600,000.00 (luxury)"),
        (30_000_000, "INR", "high", "budget INR 300,000.00 (high)"),
        (5_000_000, "INR", "mid", "budget INR 50,000.00 (mid)"),
        (1_000_000, "INR", "entry", None),  # an entry budget earns nothing, so is not named
        (25_000_000, "JPY", "high", "budget JPY 25,000,000 (high)"),
    ],
)
def test_a_named_amount_counts_as_its_band(amount, currency, band, label):
    facts = _facts(budget_minor=amount, budget_currency=currency)
    assert budget_band(facts, CONFIG) == band
    labels = [f.label for f in explainable_score(facts, NOW, CONFIG).positive]
    assert labels == ([label] if label else [])


def test_a_store_sets_what_email_engagement_is_worth_and_the_reasons_read_plainly():
    facts = _facts(_ago("email_clicked", 0), _ago("email_opened", 0), _ago("email_opened", 0))

    default = explainable_score(facts, NOW, CONFIG)
    keen = explainable_score(facts, NOW, ScoringConfig(email_click_points=12, email_open_points=0))

    assert [(f.label, f.points) for f in default.positive] == [
        ("1× clicked a link in an email", 5.0),
        ("2× opened an email", 2.0),
    ]
    assert default.value == 7
    assert [(f.label, f.points) for f in keen.positive] == [("1× clicked a link in an email", 12.0)]
    assert keen.value == 12
