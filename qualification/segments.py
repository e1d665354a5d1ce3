"""Segments from what the lead told us and what they looked at, each decision with its reason.

Evidence is weighed, not merely matched: a segment the person picked on a form outweighs words
in a message or among their interests, which outweigh an occasion date they gave (a wedding
date says bridal unless they say otherwise), which outweighs browsing.

The tie rule, in order:
1. the heaviest evidence wins;
2. equal weight: the most recent evidence wins, so a lead who moves from gifting to
   engagement rings follows them;
3. equal weight at the same moment (one message that speaks of two segments, "an
   anniversary gift", "resize my engagement ring"): the first in `TIE_ORDER`. It puts the
   most specific request first: a repair or a gold scheme is a concrete service about a
   piece or a plan; a custom design, bridal set or engagement ring is a project with its own
   people; an anniversary is a dated occasion; daily wear is a kind of piece; gifting is the
   broadest word of all ("a birthday gift" says little about what to show).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from qualification.facts import LeadFacts
from sequences.vocabulary import EventKind, Segment

FORM_WEIGHT = 10.0
TEXT_WEIGHT = 5.0
CATEGORY_WEIGHT = 2.0
OCCASION_WEIGHT = 4.0
FORM_REASON = "chosen on the form"

# What a coming occasion says about the lead's segment.
OCCASION_SEGMENTS: dict[str, Segment] = {
    "wedding": Segment.BRIDAL,
    "proposal": Segment.ENGAGEMENT,
    "anniversary": Segment.ANNIVERSARY,
    "birthday": Segment.GIFTING,
}

# Word stems per segment; matched on word boundaries, case-insensitively.
KEYWORDS: dict[Segment, tuple[str, ...]] = {
    Segment.ENGAGEMENT: ("engagement", "propos", "solitaire", "pop the question", "fiancée"),
    Segment.BRIDAL: ("bridal", "wedding", "bride", "muhurat", "mangalsutra", "trousseau"),
    Segment.CUSTOM_DESIGN: ("custom", "bespoke", "made to order", "my own design", "sketch"),
    Segment.ANNIVERSARY: ("anniversary",),
    Segment.GIFTING: (
        "gift", "birthday", "diwali", "dhanteras", "akshaya", "christmas", "valentine",
        "festive", "festival", "eid", "rakhi",
    ),
    Segment.DAILY_WEAR: ("daily wear", "everyday", "office wear", "lightweight", "light weight"),
    Segment.GOLD_SCHEME: ("gold scheme", "savings scheme", "monthly instal", "gold plan"),
    Segment.REPAIR: ("repair", "resiz", "polish", "broken", "clasp", "rhodium", "replat"),
}  # fmt: skip

# Catalogue categories (as the store's site names them) that point at a segment.
CATEGORIES: dict[str, Segment] = {
    "engagement_rings": Segment.ENGAGEMENT,
    "solitaires": Segment.ENGAGEMENT,
    "bridal_sets": Segment.BRIDAL,
    "mangalsutra": Segment.BRIDAL,
    "wedding_bands": Segment.BRIDAL,
    "custom": Segment.CUSTOM_DESIGN,
    "gifts": Segment.GIFTING,
    "coins": Segment.GIFTING,
    "everyday": Segment.DAILY_WEAR,
    "daily_wear": Segment.DAILY_WEAR,
    "gold_scheme": Segment.GOLD_SCHEME,
    "services": Segment.REPAIR,
}

# Who wins a tie of equal weight at the same moment (see the module's tie rule).
TIE_ORDER: tuple[Segment, ...] = (
    Segment.REPAIR,
    Segment.GOLD_SCHEME,
    Segment.CUSTOM_DESIGN,
    Segment.BRIDAL,
    Segment.ENGAGEMENT,
    Segment.ANNIVERSARY,
    Segment.DAILY_WEAR,
    Segment.GIFTING,
)
_TIE_RANK = {segment: len(TIE_ORDER) - index for index, segment in enumerate(TIE_ORDER)}

_PATTERNS = {
    segment: re.compile(r"\b(" + "|".join(re.escape(word) for word in words) + r")", re.I)
    for segment, words in KEYWORDS.items()
}
_TEXT_KINDS = {
    EventKind.CAPTURED.value,
    EventKind.ENQUIRY.value,
    EventKind.QUESTION.value,
    EventKind.TECHNICAL_QUESTION.value,
    EventKind.REPLY.value,
    EventKind.APPOINTMENT_REQUESTED.value,
}


@dataclass(frozen=True)
class Evidence:
    segment: Segment
    weight: float
    at: datetime
    detail: str


@dataclass(frozen=True)
class SegmentDecision:
    segment: Segment
    reason: str


def segments_in_text(text: str) -> list[tuple[Segment, str]]:
    """Every segment the text speaks of, with the word that said so, in KEYWORDS order."""
    found = []
    for segment, pattern in _PATTERNS.items():
        match = pattern.search(text)
        if match:
            found.append((segment, match.group(0).lower()))
    return found


def evidence_for(facts: LeadFacts, form_segment: str | None = None) -> list[Evidence]:
    """Everything in the facts that points at a segment."""
    evidence: list[Evidence] = []
    if form_segment:
        evidence.append(
            Evidence(Segment(form_segment), FORM_WEIGHT, facts.captured_at, FORM_REASON)
        )
    for kind, day in facts.occasions:
        if kind in OCCASION_SEGMENTS:
            detail = f"gave a {kind} date ({day.isoformat()})"
            evidence.append(
                Evidence(OCCASION_SEGMENTS[kind], OCCASION_WEIGHT, facts.captured_at, detail)
            )
    for said in facts.interests:
        for segment, word in segments_in_text(said):
            detail = f"said they like '{word}'"
            evidence.append(Evidence(segment, TEXT_WEIGHT, facts.captured_at, detail))
    for signal in facts.signals:
        if signal.text and signal.kind in _TEXT_KINDS:
            for segment, word in segments_in_text(signal.text):
                detail = f"{signal.kind.replace('_', ' ')} mentions '{word}'"
                evidence.append(Evidence(segment, TEXT_WEIGHT, signal.at, detail))
        if signal.category and signal.category in CATEGORIES:
            detail = f"viewed the {signal.category.replace('_', ' ')} category"
            evidence.append(
                Evidence(CATEGORIES[signal.category], CATEGORY_WEIGHT, signal.at, detail)
            )
    return evidence


def classify(evidence: Iterable[Evidence]) -> SegmentDecision | None:
    """The heaviest-evidenced segment and why (ties: see the module's rule); None when
    nothing points anywhere."""
    totals: dict[Segment, float] = {}
    latest: dict[Segment, datetime] = {}
    details: dict[Segment, list[str]] = {}
    for item in evidence:
        totals[item.segment] = totals.get(item.segment, 0.0) + item.weight
        latest[item.segment] = max(latest.get(item.segment, item.at), item.at)
        if item.detail not in details.setdefault(item.segment, []):
            details[item.segment].append(item.detail)
    if not totals:
        return None
    best = max(totals, key=lambda segment: (totals[segment], latest[segment], _TIE_RANK[segment]))
    return SegmentDecision(best, "; ".join(details[best][:3]))
