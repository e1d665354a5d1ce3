"""What a sequence says about its goal, its runs and its purpose: validated on load, with a
message naming the field, and judged the same way by the domain and the journey."""

from __future__ import annotations

from typing import Any

import pytest

from sequences.loader import SequenceError, load_library, parse_sequence
from sequences.model import purchase_facts
from sequences.vocabulary import EventKind, WorkPurpose


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": "rings_test",
        "name": "Rings",
        "steps": [{"id": "hello", "send": {"template": "engagement/welcome"}}],
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"goal": "store_visit", "goal_when": {"categories": ["ring"]}}, "needs goal: purchase"),
        ({"goal_when": {}}, "give categories, min_amount_minor or both"),
        ({"goal_when": {"categories": ["Rings!"]}}, "goal_when.categories"),
        ({"goal_when": {"min_amount_minor": -1}}, "goal_when.min_amount_minor"),
        ({"new_run_supersedes": True}, "new_run_supersedes needs reenter_after"),
        ({"purpose": "service"}, "a service sequence goes on after a full opt-out"),
        ({"runs_beside": ["rings_test"]}, "runs_beside names this sequence itself"),
        ({"reenter_after": {"days": -3}}, "reenter_after"),
    ],
)
def test_a_bad_goal_or_run_rule_is_refused_naming_the_field(changes, message):
    with pytest.raises(SequenceError) as refused:
        parse_sequence(_body(**changes), "rings_test.yaml")
    assert message in str(refused.value)
    assert "rings_test.yaml" in str(refused.value)


def test_a_purchase_reaches_the_engagement_goal_only_with_a_ring():
    ring = load_library()["engagement_ring"]

    def reaches(categories: list[str] | None, amount: int | None = 1_00_000_00) -> bool:
        return ring.goal_reached_by(EventKind.PURCHASE, purchase_facts(categories, amount))

    assert reaches(["Engagement Rings"]) and reaches(["solitaire", "chain"])
    assert not reaches(["repair"]) and not reaches(["earrings", "gifting"])
    assert reaches(None), "a sale noted without items names no category to rule it out"
    assert not ring.goal_reached_by(EventKind.STORE_VISIT, purchase_facts(["ring"], 1))


def test_a_minimum_amount_is_a_floor_and_an_unknown_amount_passes():
    body = _body(goal_when={"min_amount_minor": 50_000_00})
    floor = parse_sequence(body, "floor.yaml")
    assert floor.goal_reached_by(EventKind.PURCHASE, purchase_facts(None, 50_000_00))
    assert not floor.goal_reached_by(EventKind.PURCHASE, purchase_facts(["ring"], 49_999_99))
    assert floor.goal_reached_by(EventKind.PURCHASE, purchase_facts(["ring"], None))


def test_the_library_states_runs_and_purposes():
    library = load_library()
    assert library["post_purchase"].new_run_supersedes
    assert library["engagement_ring"].reenter_after is not None
    assert "anniversary_countdown" in library["engagement_ring"].runs_beside
    custom = library["custom_order"]
    assert custom.purpose is WorkPurpose.SERVICE
    assert {custom.task_purpose(step.task) for step in custom.steps if step.task} == {
        WorkPurpose.SERVICE
    }
    assert library["engagement_ring"].purpose is WorkPurpose.SALES
