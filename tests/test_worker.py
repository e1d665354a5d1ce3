"""worker.py as a real process: killed mid-journey and started again, the journey goes on
and no message is sent twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from sequences.model import Offset, SendAction, Sequence, Step
from sequences.vocabulary import Channel, JourneyStatus, TouchStatus
from tests.factories import enroll, make_lead, set_caps, touches
from workflows.journey import JourneyResult, NurtureJourney

ROOT = Path(__file__).resolve().parent.parent

# The welcome's messages, seconds apart instead of days, so real time can carry it.
QUICK_WELCOME = Sequence(
    key="engagement_welcome",
    name="Welcome, in seconds",
    steps=(
        Step(id="welcome", at=Offset(), send=SendAction(template="engagement/welcome")),
        Step(id="four_cs", at=Offset(seconds=2), send=SendAction(template="engagement/four_cs")),
        Step(
            id="viewing_invite",
            at=Offset(seconds=4),
            send=SendAction(template="engagement/viewing_invite"),
        ),
    ),
)


def _start_worker(database_url: str, address: str, task_queue: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "SECRET_KEY": "test-secret-that-is-not-a-placeholder",
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TASK_QUEUE": task_queue,
    }
    return subprocess.Popen(
        [sys.executable, "worker.py"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def _until(condition, what: str, seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_killed_worker_resumes_the_journey_without_sending_twice(
    dev_server, database, store, tmp_path
):
    set_caps(database, store, per_day=5, per_week=5)  # three messages in four seconds
    lead_id = make_lead(database, store, preferred=Channel.WHATSAPP)
    workflow_id, start = enroll(database, lead_id, sequence=QUICK_WELCOME)
    task_queue = f"facet-restart-{uuid.uuid4().hex[:8]}"
    address = dev_server.client.service_client.config.target_host
    log = tmp_path / "worker.log"

    worker = _start_worker(database.url, address, task_queue, log)
    try:
        handle = await dev_server.client.start_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )
        await _until(lambda: len(touches(database, lead_id)) >= 1, "the welcome", 60)
        os.kill(worker.pid, signal.SIGKILL)  # no goodbye: as if the machine died
        worker.wait()

        worker = _start_worker(database.url, address, task_queue, log)
        result = await asyncio.wait_for(handle.result(), timeout=90)
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    assert isinstance(result, JourneyResult)
    assert result.status is JourneyStatus.COMPLETED
    sent = touches(database, lead_id)
    assert [(t.step_id, t.status) for t in sent] == [
        ("welcome", TouchStatus.SENT),
        ("four_cs", TouchStatus.SENT),
        ("viewing_invite", TouchStatus.SENT),
    ]


async def test_sigterm_stops_the_worker_cleanly(dev_server, database, tmp_path):
    address = dev_server.client.service_client.config.target_host
    log = tmp_path / "worker.log"
    worker = _start_worker(database.url, address, f"facet-stop-{uuid.uuid4().hex[:8]}", log)
    await _until(lambda: "worker polling" in log.read_text(), "the worker to start", 60)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert "worker stopped" in log.read_text()
