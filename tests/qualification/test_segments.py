"""Segments from form, text and browsing, each with its reason."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from qualification.facts import LeadFacts, Signal
from qualification.segments import TEXT_WEIGHT, TIE_ORDER, Evidence, classify, evidence_for
from sequences.vocabulary import Segment

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _decide(*signals: Signal, form: str | None = None):
    facts = LeadFacts(captured_at=T0, source="web_form", signals=signals)
    return classify(evidence_for(facts, form_segment=form))


def _said(text: str, days: int = 0, kind: str = "captured") -> Signal:
    return Signal(kind=kind, at=T0 + timedelta(days=days), text=text)


@pytest.mark.parametrize(
    ("text", "segment", "word"),
    [
        ("Looking for a solitaire to propose in December", Segment.ENGAGEMENT, "solitaire"),
        ("Need a bridal set for my daughter's wedding", Segment.BRIDAL, "bridal"),
        ("Can you make a custom ring from my sketch?", Segment.CUSTOM_DESIGN, "custom"),
        ("Something for our 10th anniversary", Segment.ANNIVERSARY, "anniversary"),
        ("Diwali gift for my mother", Segment.GIFTING, "diwali"),
        ("Lightweight chain for office wear", Segment.DAILY_WEAR, "lightweight"),
        ("How does your gold scheme work?", Segment.GOLD_SCHEME, "gold scheme"),
        ("My bracelet clasp is broken, can you repair it?", Segment.REPAIR, "clasp"),
    ],
)
def test_enquiry_text_gives_segment_and_reason(text, segment, word):
    decision = _decide(_said(text))
    assert decision is not None
    assert decision.segment is segment
    assert f"'{word}'" in decision.reason


def test_nothing_to_go_on_gives_no_segment():
    assert _decide(_said("Hello, are you open on Sunday?")) is None


def test_the_form_outweighs_a_passing_mention():
    decision = _decide(_said("also a birthday gift maybe"), form="engagement")
    assert decision is not None and decision.segment is Segment.ENGAGEMENT
    assert decision.reason == "chosen on the form"


def test_browsing_categories_points_at_a_segment():
    views = [
        Signal("category_view", T0 + timedelta(hours=i), category="bridal_sets") for i in range(3)
    ]
    decision = _decide(*views)
    assert decision is not None and decision.segment is Segment.BRIDAL
    assert "viewed the bridal sets category" in decision.reason


def test_new_evidence_can_change_the_segment():
    first = _said("Diwali gift for my wife")
    later = _said("Actually I want to propose, show me engagement rings", days=5, kind="question")
    assert _decide(first).segment is Segment.GIFTING
    assert _decide(first, later).segment is Segment.ENGAGEMENT


def test_a_wedding_date_or_what_they_like_points_at_a_segment():
    at = datetime(2026, 6, 1, tzinfo=UTC)
    wedding = LeadFacts(
        captured_at=at, source="web_form", occasions=(("wedding", date(2026, 9, 1)),)
    )
    decided = classify(evidence_for(wedding))
    assert decided is not None
    assert (decided.segment, decided.reason) == (Segment.BRIDAL, "gave a wedding date (2026-09-01)")

    likes = LeadFacts(
        captured_at=at, source="web_form", interests=("temple jewellery", "mangalsutra")
    )
    decided = classify(evidence_for(likes))
    assert decided is not None and decided.segment is Segment.BRIDAL
    assert "'mangalsutra'" in decided.reason


def test_words_outweigh_an_occasion_date():
    """An engagement-ring enquiry from someone who also gave their birthday is engagement."""
    at = datetime(2026, 6, 1, tzinfo=UTC)
    facts = LeadFacts(
        captured_at=at,
        source="web_form",
        occasions=(("birthday", date(2026, 8, 1)),),
        signals=(Signal(kind="captured", at=at - timedelta(seconds=1), text="an engagement ring"),),
    )
    decided = classify(evidence_for(facts))
    assert decided is not None and decided.segment is Segment.ENGAGEMENT


def test_the_tie_order_ranks_every_segment_once():
    assert sorted(TIE_ORDER) == sorted(Segment)


@pytest.mark.parametrize(
    ("text", "segment"),
    [
        ("An anniversary gift for my wife", Segment.ANNIVERSARY),
        ("Can you resize my engagement ring?", Segment.REPAIR),
        ("A custom bridal necklace", Segment.CUSTOM_DESIGN),
        ("Gold scheme to save for the wedding", Segment.GOLD_SCHEME),
        ("Office wear earrings as a birthday gift", Segment.DAILY_WEAR),
    ],
)
def test_one_message_naming_two_segments_goes_to_the_first_in_the_tie_order(text, segment):
    decision = _decide(_said(text))
    assert decision is not None and decision.segment is segment


def test_every_pair_of_tied_segments_is_decided_by_the_tie_order_not_by_name():
    at = datetime(2026, 3, 10, tzinfo=UTC)
    for first, second in itertools.combinations(TIE_ORDER, 2):
        tied = [Evidence(s, TEXT_WEIGHT, at, f"said {s.value}") for s in (second, first)]
        decision = classify(tied)
        assert decision is not None and decision.segment is first, (first, second)


def test_a_tie_goes_to_the_more_recent_evidence_before_the_tie_order():
    early = datetime(2026, 3, 10, tzinfo=UTC)
    decision = classify(
        [
            Evidence(Segment.REPAIR, TEXT_WEIGHT, early, "said repair"),
            Evidence(Segment.GIFTING, TEXT_WEIGHT, early + timedelta(days=1), "said gift"),
        ]
    )
    assert decision is not None and decision.segment is Segment.GIFTING
