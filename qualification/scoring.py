"""The explainable score: fit + decaying engagement, 0–100, with its top factors; hard triggers.

Fit says who is worth talking to (budget, how near the occasion is, referral, repeat customer);
engagement says when (views, visits, questions, replies …), each point halving every
`half_life_days`. Hard triggers (an appointment request, a certification question about a
high-value piece, ready-to-buy words) make a lead hot at once, whatever the sum.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from qualification.facts import LeadFacts, Signal
from sequences.vocabulary import ONE_OFF_OCCASIONS, EventKind, Priority, Segment, StaffRole

RULES_VERSION = "rules-v1"


Tier = Priority


class Trigger(StrEnum):
    APPOINTMENT_REQUEST = "appointment_request"
    CERTIFICATION_QUESTION = "certification_question"
    READY_TO_BUY = "ready_to_buy"


BUDGET_POINTS = {"entry": 0.0, "mid": 5.0, "high": 10.0, "luxury": 15.0}
# An amount's band, as a share of the store's high-value line (`ScoringConfig.high_value_minor`).
BUDGET_BAND_FROM = (("luxury", 2.5), ("high", 1.0), ("mid", 0.25))
# Currencies whose minor unit is not a hundredth (ISO 4217 exponents).
MINOR_EXPONENT = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "KWD": 3, "BHD": 3, "OMR": 3}

# Engagement points per event kind, before decay. Negative kinds pull the score down.
ENGAGEMENT_POINTS: dict[str, float] = {
    EventKind.STORE_VISIT.value: 20.0,
    EventKind.APPOINTMENT_REQUESTED.value: 15.0,
    EventKind.APPOINTMENT_BOOKED.value: 15.0,
    EventKind.TECHNICAL_QUESTION.value: 10.0,
    EventKind.REPLY.value: 10.0,
    EventKind.QUESTION.value: 5.0,
    EventKind.ENQUIRY.value: 4.0,  # a return visit: the lead came back through a form again
    EventKind.EMAIL_CLICKED.value: 5.0,
    EventKind.PRODUCT_VIEW.value: 3.0,
    EventKind.CATEGORY_VIEW.value: 2.0,
    EventKind.EMAIL_OPENED.value: 1.0,  # opens are unreliable
    EventKind.OPTED_OUT.value: -20.0,
}
NOT_INTERESTED_POINTS = -15.0
MINUTES_ON_PAGE_POINTS = 1.0  # per minute on a product page, up to 3 per view
MAX_MINUTES_ON_PAGE = 3.0

# The kinds that count as the lead engaging (for the going-cold sweep as well).
ENGAGEMENT_KINDS = frozenset(kind for kind, points in ENGAGEMENT_POINTS.items() if points > 0) | {
    EventKind.CAPTURED.value
}

_CERTIFICATION = re.compile(
    r"\b(certific|cert\b|gia\b|igi\b|hrd\b|grading report|lab[- ]grown|appraisal|apprais)", re.I
)
_STONE = re.compile(
    r"\b(clarity|colou?r grade|carat|ct\b|cut grade|fluorescen|inclusion|sapphire|emerald|ruby|"
    r"diamond|stone)",
    re.I,
)
_DESIGN = re.compile(r"\b(custom|bespoke|design|sketch|cad\b|made to order)", re.I)
_READY = re.compile(
    r"\b(ready to buy|buy (it |this |one )?(today|tomorrow|this week(end)?)|want to (buy|purchase)|"
    r"(hold|reserve|keep) (it|this|the \w+) for me|take it|i'?ll take|pay (today|now)|"
    r"pick (it )?up (today|tomorrow))",
    re.I,
)
_LARGE_CARAT = re.compile(r"\b([1-9]\d*(\.\d+)?)\s*(ct|carat)", re.I)


class ScoringConfig(BaseModel):
    """Tunable numbers; the composition root builds it from settings."""

    model_config = ConfigDict(frozen=True)

    half_life_days: float = Field(default=14.0, gt=0)
    hot_at: int = Field(default=65, ge=0, le=100)
    warm_at: int = Field(default=40, ge=0, le=100)
    # A learned model scores a probability; its tiers are probabilities too.
    hot_probability: float = Field(default=0.45, gt=0, le=1)
    warm_probability: float = Field(default=0.2, gt=0, le=1)
    high_value_minor: int = Field(default=20_000_000, ge=0)  # e.g. ₹2 lakh in paise
    occasion_horizon_days: int = 120
    # A wedding or proposal this near makes the lead hot: the jewellery is bought before it.
    one_off_horizon_days: int = 183
    fit_cap: float = 50.0
    engagement_cap: float = 50.0
    # What a person opening a marketing email, or clicking a link in one, is worth (before
    # decay). Opens count little: privacy features and preview panes make them unreliable,
    # and machine opens (Apple Mail's prefetch) are never recorded at all.
    email_open_points: float = Field(default=1.0, ge=0, le=20)
    email_click_points: float = Field(default=5.0, ge=0, le=20)


@dataclass(frozen=True)
class Factor:
    """One reason the score is what it is, in points (rules) or log-odds × 10 (learned)."""

    name: str
    label: str
    points: float


@dataclass(frozen=True)
class TriggerHit:
    trigger: Trigger
    role_needed: StaffRole
    detail: str


@dataclass(frozen=True)
class Score:
    value: int
    tier: Tier
    model_version: str
    positive: tuple[Factor, ...]
    negative: tuple[Factor, ...]
    triggers: tuple[TriggerHit, ...] = ()

    def explanation(self) -> dict[str, Any]:
        """What is stored with the score and shown with the lead."""

        def rows(factors: tuple[Factor, ...]) -> list[dict[str, object]]:
            return [{"name": f.name, "label": f.label, "points": f.points} for f in factors]

        return {
            "model_version": self.model_version,
            "tier": self.tier.value,
            "positive": rows(self.positive),
            "negative": rows(self.negative),
            "triggers": [
                {"trigger": t.trigger.value, "role_needed": t.role_needed.value, "detail": t.detail}
                for t in self.triggers
            ],
        }


def decay(age_days: float, half_life_days: float) -> float:
    """The share of a signal's points left after `age_days`: 1 now, ½ after one half-life."""
    return float(0.5 ** (max(age_days, 0.0) / half_life_days))


def _age_days(signal: Signal, now: datetime) -> float:
    return (now - signal.at).total_seconds() / 86_400


# How a reason reads where the kind's own name would not say it plainly.
KIND_LABELS = {
    EventKind.EMAIL_OPENED.value: "opened an email",
    EventKind.EMAIL_CLICKED.value: "clicked a link in an email",
}


def signal_points(signal: Signal, config: ScoringConfig | None = None) -> float:
    """A signal's points before decay (`config`: the store's worth of email engagement)."""
    if signal.outcome == "not_interested":
        return NOT_INTERESTED_POINTS
    points = ENGAGEMENT_POINTS.get(signal.kind, 0.0)
    if config is not None and signal.kind == EventKind.EMAIL_OPENED.value:
        points = config.email_open_points
    elif config is not None and signal.kind == EventKind.EMAIL_CLICKED.value:
        points = config.email_click_points
    if signal.kind == EventKind.PRODUCT_VIEW.value and signal.seconds:
        points += min(signal.seconds / 60.0, MAX_MINUTES_ON_PAGE) * MINUTES_ON_PAGE_POINTS
    return points


def budget_band(facts: LeadFacts, config: ScoringConfig) -> str | None:
    """The band the lead named, or the band of the amount they named."""
    if facts.budget_band or facts.budget_minor is None:
        return facts.budget_band
    for band, share in BUDGET_BAND_FROM:
        if facts.budget_minor >= share * config.high_value_minor:
            return band
    return "entry"


def spoken_money(amount_minor: int, currency: str | None) -> str:
    """An amount the way a person reads it: "INR 300,000.00"."""
    exponent = MINOR_EXPONENT.get(currency or "", 2)
    major = amount_minor / 10**exponent
    return f"{currency or ''} {major:,.{exponent}f}".strip()


def occasion_points(facts: LeadFacts, now: datetime, config: ScoringConfig) -> tuple[float, int]:
    """Points for a coming occasion (more the nearer it is) and the days to it."""
    if facts.occasion_date is None:
        return 0.0, -1
    days = (facts.occasion_date - now.date()).days
    horizon = config.occasion_horizon_days
    if facts.occasion_kind in ONE_OFF_OCCASIONS:
        horizon = max(horizon, config.one_off_horizon_days)
    if days < 0 or days > horizon:
        return 0.0, days
    return (15.0 if days <= 45 else 10.0), days


def one_off_soon(facts: LeadFacts, now: datetime, config: ScoringConfig) -> bool:
    """A wedding or proposal within `one_off_horizon_days`: the lead is hot."""
    today = now.date()
    return any(
        kind in ONE_OFF_OCCASIONS and 0 <= (day - today).days <= config.one_off_horizon_days
        for kind, day in facts.occasions
    )


def fit_factors(facts: LeadFacts, now: datetime, config: ScoringConfig) -> list[Factor]:
    factors = []
    band = budget_band(facts, config)
    budget = BUDGET_POINTS.get(band or "", 0.0)
    if budget:
        label = f"budget band {band}"
        if facts.budget_minor is not None and not facts.budget_band:
            label = f"budget {spoken_money(facts.budget_minor, facts.budget_currency)} ({band})"
        factors.append(Factor("budget", label, budget))
    occasion, days = occasion_points(facts, now, config)
    if occasion and facts.occasion_date is not None:
        what = (facts.occasion_kind or "occasion").replace("_", " ")
        label = f"{what} on {facts.occasion_date.isoformat()}, in {days} days"
        factors.append(Factor("occasion", label, occasion))
    if facts.source == "referral":
        factors.append(Factor("referral", "referred by someone", 8.0))
    if facts.repeat_customer:
        factors.append(Factor("repeat_customer", "has bought here before", 10.0))
    return factors


def engagement_factors(facts: LeadFacts, now: datetime, config: ScoringConfig) -> list[Factor]:
    """Decayed points summed per kind of signal, plus a penalty for a long silence."""
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for signal in facts.signals:
        if signal.at > now:
            continue
        key = "not_interested" if signal.outcome == "not_interested" else signal.kind
        weight = decay(_age_days(signal, now), config.half_life_days)
        points = signal_points(signal, config) * weight
        if points:
            totals[key] = totals.get(key, 0.0) + points
            counts[key] = counts.get(key, 0) + 1
    factors = [
        Factor(
            kind,
            f"{counts[kind]}× {KIND_LABELS.get(kind, kind.replace('_', ' '))}",
            round(points, 1),
        )
        for kind, points in totals.items()
        if round(points, 1) != 0
    ]
    idle = idle_days(facts, now)
    if idle is not None and idle >= 30:
        factors.append(Factor("silence", f"no engagement for {int(idle)} days", -5.0))
    return factors


def idle_days(facts: LeadFacts, now: datetime) -> float | None:
    """Days since the lead last engaged (capture counts); None if we know of nothing."""
    times = [s.at for s in facts.signals if s.kind in ENGAGEMENT_KINDS and s.at <= now]
    if not times:
        return None
    return (now - max(times)).total_seconds() / 86_400


def role_for_text(text: str | None, segment: str | None) -> StaffRole:
    """Certification, appraisal, stone questions → gemologist; design → designer; else associate."""
    if text and (_CERTIFICATION.search(text) or _STONE.search(text)):
        return StaffRole.GEMOLOGIST
    if (text and _DESIGN.search(text)) or segment == Segment.CUSTOM_DESIGN.value:
        return StaffRole.DESIGNER
    return StaffRole.ASSOCIATE


def _high_value(signal: Signal, facts: LeadFacts, config: ScoringConfig) -> bool:
    if signal.value_minor is not None:
        return signal.value_minor >= config.high_value_minor
    if budget_band(facts, config) in {"high", "luxury"}:
        return True
    carat = _LARGE_CARAT.search(signal.text or "")
    return carat is not None and float(carat.group(1)) >= 1.0


def triggers_in(signal: Signal, facts: LeadFacts, config: ScoringConfig) -> list[TriggerHit]:
    """The hard triggers one signal fires."""
    hits = []
    text = signal.text or ""
    if signal.kind == EventKind.APPOINTMENT_REQUESTED.value:
        hits.append(
            TriggerHit(
                Trigger.APPOINTMENT_REQUEST,
                role_for_text(text, facts.segment),
                "asked for an appointment",
            )
        )
    is_question = signal.kind in {EventKind.QUESTION.value, EventKind.TECHNICAL_QUESTION.value}
    if is_question and _CERTIFICATION.search(text) and _high_value(signal, facts, config):
        hits.append(
            TriggerHit(
                Trigger.CERTIFICATION_QUESTION,
                StaffRole.GEMOLOGIST,
                "asked about certification of a high-value piece",
            )
        )
    ready = _READY.search(text)
    if ready:
        hits.append(
            TriggerHit(
                Trigger.READY_TO_BUY,
                role_for_text(text, facts.segment),
                f"said '{ready.group(0).lower()}'",
            )
        )
    return hits


def _top(factors: list[Factor], positive: bool, n: int = 3) -> tuple[Factor, ...]:
    chosen = [f for f in factors if (f.points > 0) == positive and f.points != 0]
    chosen.sort(key=lambda f: (-abs(f.points), f.name))
    return tuple(chosen[:n])


def tier_for(value: int, config: ScoringConfig, *, triggered: bool) -> Tier:
    if triggered or value >= config.hot_at:
        return Tier.HOT
    return Tier.WARM if value >= config.warm_at else Tier.COLD


def explainable_score(
    facts: LeadFacts,
    now: datetime,
    config: ScoringConfig,
    *,
    trigger_signal: Signal | None = None,
) -> Score:
    """The rules score at `now`; `trigger_signal` is the event being qualified, if any."""
    fit = fit_factors(facts, now, config)
    engagement = engagement_factors(facts, now, config)
    fit_total = min(sum(f.points for f in fit), config.fit_cap)
    engagement_total = min(sum(f.points for f in engagement), config.engagement_cap)
    value = round(max(0.0, min(100.0, fit_total + engagement_total)))
    hits = tuple(triggers_in(trigger_signal, facts, config)) if trigger_signal else ()
    factors = fit + engagement
    return Score(
        value=value,
        tier=tier_for(value, config, triggered=bool(hits) or one_off_soon(facts, now, config)),
        model_version=RULES_VERSION,
        positive=_top(factors, positive=True),
        negative=_top(factors, positive=False),
        triggers=hits,
    )


def feature_values(facts: LeadFacts, now: datetime, config: ScoringConfig) -> dict[str, float]:
    """The learned model's inputs: the same facts as the rules, unweighted (log of decayed sums)."""
    occasion, _ = occasion_points(facts, now, config)
    values = {
        "budget": BUDGET_POINTS.get(budget_band(facts, config) or "", 0.0) / 15.0,
        "occasion": occasion / 15.0,
        "referral": 1.0 if facts.source == "referral" else 0.0,
        "repeat_customer": 1.0 if facts.repeat_customer else 0.0,
    }
    sums = {name: 0.0 for name in FEATURE_KINDS}
    for signal in facts.signals:
        if signal.at > now:
            continue
        name = "not_interested" if signal.outcome == "not_interested" else signal.kind
        if name in sums:
            weight = decay(_age_days(signal, now), config.half_life_days)
            if signal.kind == EventKind.PRODUCT_VIEW.value and signal.seconds:
                sums["minutes_on_product"] += weight * min(signal.seconds / 60.0, 10.0)
            sums[name] += weight
    values.update({name: math.log1p(total) for name, total in sums.items()})
    idle = idle_days(facts, now)
    values["idle_weeks"] = min((idle if idle is not None else 0.0) / 7.0, 26.0)
    return values


FEATURE_KINDS = (
    EventKind.STORE_VISIT.value,
    EventKind.APPOINTMENT_REQUESTED.value,
    EventKind.APPOINTMENT_BOOKED.value,
    EventKind.TECHNICAL_QUESTION.value,
    EventKind.QUESTION.value,
    EventKind.REPLY.value,
    EventKind.ENQUIRY.value,
    EventKind.PRODUCT_VIEW.value,
    EventKind.CATEGORY_VIEW.value,
    EventKind.EMAIL_OPENED.value,
    EventKind.EMAIL_CLICKED.value,
    EventKind.OPTED_OUT.value,
    "not_interested",
    "minutes_on_product",
)
FEATURE_NAMES = ("budget", "occasion", "referral", "repeat_customer", *FEATURE_KINDS, "idle_weeks")
FEATURE_LABELS = {name: name.replace("_", " ") for name in FEATURE_NAMES}
