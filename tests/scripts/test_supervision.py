"""`make run` keeps the stack up: a worker or API that dies is started again by itself."""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.request

from tests.factories import indian_mobile
from tests.scripts.test_run import Stack, _stop


def _pid(log: str, name: str) -> int:
    """The pid of the newest `name` process the launcher announced."""
    pids = re.findall(rf"{name} (?:started|restarted) \(pid (\d+)\)", log)
    assert pids, log
    return int(pids[-1])


def test_a_killed_worker_comes_back_and_captures_made_meanwhile_get_one_welcome(tmp_path):
    stack = Stack(tmp_path)
    launcher = stack.start()
    try:
        log, key = stack.first_banner(launcher)
        worker = _pid(log, "worker")

        os.kill(worker, signal.SIGKILL)
        # The API keeps answering while no worker runs: the journeys wait on Temporal's queue.
        leads = [
            stack.capture(
                log,
                key,
                phone=indian_mobile(),
                email=f"down-{n}@example.com",
                consent={"email": True, "evidence": "test"},
            )["lead_id"]
            for n in range(5)
        ]
        log = stack.wait_for("worker restarted", launcher, seconds=60)
        assert "worker exited (code -9); restarting it in 1 s" in log
        assert _pid(log, "worker") != worker

        welcomes: dict[str, list[str]] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for lead in leads:
                _, timeline = stack.call("GET", f"/v1/leads/{lead}/timeline", key)
                welcomes[lead] = [
                    entry["status"]
                    for entry in timeline["entries"]
                    if entry["type"] == "touch" and entry["step_id"] == "welcome"
                ]
            if all(statuses == ["outbox"] for statuses in welcomes.values()):
                break
            time.sleep(0.3)
        assert welcomes == {lead: ["outbox"] for lead in leads}

        # The API too: killed, it is started again and answers as before.
        api = _pid(log, "API")
        os.kill(api, signal.SIGKILL)
        log = stack.wait_for("API restarted", launcher, seconds=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{stack.api}/healthz", timeout=3
                ) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        stack.capture(
            log, key, email="after-api@example.com", consent={"email": True, "evidence": "t"}
        )
        assert launcher.poll() is None  # the launcher never gave up
    finally:
        assert _stop(launcher) == 0


def test_a_killed_temporal_server_comes_back_with_its_journeys(tmp_path):
    """The dev server keeps its state in its file: restarted, it still runs the journeys it
    had, and a capture made while it was down waits for it instead of failing."""
    stack = Stack(tmp_path)
    launcher = stack.start()
    try:
        log, key = stack.first_banner(launcher)
        before = stack.capture(log, key, email="before@example.com")
        os.kill(_pid(log, "Temporal dev server"), signal.SIGKILL)
        during = stack.capture(
            log, key, email="during@example.com", consent={"email": True, "evidence": "test"}
        )
        log = stack.wait_for("Temporal dev server restarted", launcher, seconds=60)
        assert "Temporal dev server exited (code -9); restarting it in 1 s" in log

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            _, timeline = stack.call("GET", f"/v1/leads/{during['lead_id']}/timeline", key)
            # To the lead (the neutral welcome also tells an associate of their task).
            to_lead = [e for e in timeline["entries"] if e["type"] == "touch" and e["to"] == "lead"]
            sent = [e["status"] for e in to_lead]
            if sent:
                break
            time.sleep(0.3)
        assert sent == ["outbox"]  # the worker reconnected by itself
        # The journey from before answers from the restarted server (its query waits for the
        # worker to pick it up again): asleep until its next step.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, journeys = stack.call("GET", f"/v1/leads/{before['lead_id']}/journeys", key)
            [journey] = journeys
            if journey["progress"] is not None and journey["progress"]["steps_done"] >= 1:
                break  # (a welcome in flight at the kill is sent once the worker is back)
            time.sleep(0.5)
        assert journey["status"] == "active" and journey["progress"]["steps_done"] >= 1
        assert launcher.poll() is None
    finally:
        assert _stop(launcher) == 0
