"""Recorded histories replay on today's workflow code: a change that would break running
journeys fails here, before it is deployed."""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.workflows.replay import HISTORIES
from worker import WORKFLOWS


def _histories() -> list[str]:
    return sorted(path.stem for path in HISTORIES.glob("*.json"))


def test_there_are_recorded_histories_to_replay():
    assert {
        # Recorded before the sequence language: they replay through workflow.patched.
        "spine_journey_welcome_completed",
        "spine_journey_converted_on_day_3",
        "journey_welcome_completed",
        "journey_converted_on_day_3",
        "journey_wait_for_else_branch",
        "journey_reply_pause",
        "countdown_one_year",
        "journey_continued_as_new",
        # A lead deleted mid-journey: the step fails for good, the journey exits (patched).
        "journey_lead_deleted",
        # A newer run (or the new segment's journey) took over: it ends superseded.
        "journey_superseded",
        # Valigara told of a sale's piece; and told after Temporal waited out a 105.
        "valigara_sold_told",
        "valigara_sold_after_a_105",
    } <= set(_histories())


@pytest.mark.parametrize("name", _histories())
async def test_recorded_history_replays(name: str):
    text = (HISTORIES / f"{name}.json").read_text()
    workflow_id = f"replay-{name}"
    json.loads(text)  # a readable file, not a truncated one
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(WorkflowHistory.from_json(workflow_id, text))
