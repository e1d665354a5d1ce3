"""The season simulation's floor (bench/season.py `bare_floor`): bare journeys with the
engagement journey's steps, whose CPU per lead bounds the season's wall time from below. The
bound means something only if every bare journey really ran every step."""

from __future__ import annotations

from bench.season import bare_floor, engagement_step_kinds
from sequences.loader import LIBRARY_DIR, load_sequence_file


def test_the_floor_has_a_step_for_each_send_task_and_enrolment_of_the_engagement_journey():
    sequence = load_sequence_file(LIBRARY_DIR / "engagement_ring.yaml")
    kinds = engagement_step_kinds()
    assert kinds.count("send") == sum(1 for step in sequence.steps if step.send)
    assert kinds.count("child") == sum(1 for step in sequence.steps if step.task or step.enroll)


async def test_the_floor_runs_every_step_of_each_bare_journey_and_measures_their_cpu():
    figures = await bare_floor(3, season_leads=1000, kinds=["send", "child", "send"])

    assert figures["season_floor_leads"] == 3
    assert figures["season_floor_worker_cpu_ms_per_lead"] > 0
    assert figures["season_floor_server_cpu_ms_per_lead"] > 0
    per_lead_s = figures["season_floor_cpu_ms_per_lead"] / 1000
    assert figures["season_floor_min_wall_s"] > per_lead_s  # 1,000 leads on a few cores
