"""`make run`'s launcher as a user meets it: start, capture a lead, Ctrl-C, start again."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx

from tests.factories import indian_mobile

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Stack:
    """scripts/run.py in its own folder and ports, read line by line like a terminal."""

    def __init__(self, data: Path, database_url: str | None = None) -> None:
        self.api, self.temporal, self.ui = _free_port(), _free_port(), _free_port()
        self.data = data
        self.database_url = database_url or f"sqlite:///{data / 'facet.db'}"
        self.output = data / "run.log"

    def start(self) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if k not in {"TEMPORAL_ADDRESS", "DATABASE_URL"}}
        env |= {
            "DATABASE_URL": self.database_url,
            "FACET_DATA_DIR": str(self.data),
            "FACET_API_PORT": str(self.api),
            "FACET_TEMPORAL_PORT": str(self.temporal),
            "FACET_TEMPORAL_UI_PORT": str(self.ui),
        }
        self.output.write_text("")
        return subprocess.Popen(
            [sys.executable, "scripts/run.py"],
            cwd=ROOT,
            env=env,
            stdout=self.output.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def wait_for(self, text: str, process: subprocess.Popen[bytes], seconds: float = 90) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            log = self.output.read_text()
            if text in log:
                return log
            if process.poll() is not None:
                raise AssertionError(f"launcher exited {process.returncode}:\n{log}")
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared:\n{self.output.read_text()}")

    def first_banner(self, process: subprocess.Popen[bytes]) -> tuple[str, str]:
        """The launcher's output once it is up, and the admin key a first run prints."""
        log = self.wait_for("Press Ctrl-C to stop.", process)
        key = re.search(r"Admin API key \(shown once, keep it\): (\S+)", log)
        assert key, log
        return log, key[1]

    def call(self, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())

    def capture(self, log: str, key: str, **lead: Any) -> dict[str, Any]:
        """POST a lead to the demo store the banner in `log` names; 201 expected."""
        store = re.search(r"Demo store:\s+(\S+)", log)
        assert store, log
        body = {"store_id": store[1], "source": "web_form", "first_name": "Asha", **lead}
        status, created = self.call("POST", "/v1/leads", key, body)
        assert status == 201, created
        return dict(created)


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    return process.wait(timeout=90)


def test_run_starts_everything_and_a_second_run_resumes_the_same_journeys(tmp_path):
    stack = Stack(tmp_path)
    first = stack.start()
    try:
        log, key = stack.first_banner(first)
        assert f"http://127.0.0.1:{stack.api}/docs" in log
        assert f"http://127.0.0.1:{stack.ui}" in log

        created = stack.capture(
            log, key, phone=indian_mobile(), consent={"whatsapp": True, "evidence": "test"}
        )
        lead = created["lead_id"]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            _, timeline = stack.call("GET", f"/v1/leads/{lead}/timeline", key)
            if any(e["type"] == "touch" for e in timeline["entries"]):
                break
            time.sleep(0.1)
        to_lead = [e for e in timeline["entries"] if e["type"] == "touch" and e["to"] == "lead"]
        assert [e["step_id"] for e in to_lead] == ["welcome"]

        ui = urllib.request.urlopen(
            f"http://127.0.0.1:{stack.ui}/api/v1/namespaces/default/workflows", timeout=10
        ).read()
        assert created["journey_workflow_id"].encode() in ui
    finally:
        assert _stop(first) == 0
    assert "Facet: stopped." in stack.output.read_text()

    second = stack.start()
    try:
        log = stack.wait_for("Press Ctrl-C to stop.", second)
        assert "Admin API key: printed the first time" in log
        _, view = stack.call("GET", f"/v1/leads/{lead}", key)
        assert [j["status"] for j in view["journeys"]] == ["active"]
        described = subprocess.run(
            [
                str(Path(sys.executable).parent / "temporal"),
                "workflow", "describe",
                "--address", f"127.0.0.1:{stack.temporal}",
                "--workflow-id", created["journey_workflow_id"],
                "--output", "json",
            ],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        assert "WORKFLOW_EXECUTION_STATUS_RUNNING" in described.stdout
    finally:
        assert _stop(second) == 0


def test_a_killed_launcher_takes_its_children_with_it_and_the_next_run_starts(tmp_path):
    """SIGKILL leaves the launcher no chance to stop anything: Linux stops the children."""
    stack = Stack(tmp_path)
    first = stack.start()
    log, key = stack.first_banner(first)
    created = stack.capture(
        log, key, email="asha.kill@example.com", consent={"email": True, "evidence": "test"}
    )
    first.kill()
    first.wait(timeout=10)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _in_use(stack.api, stack.temporal, stack.ui):
        time.sleep(0.2)
    assert not _in_use(stack.api, stack.temporal, stack.ui), "the children outlived the launcher"

    second = stack.start()
    try:
        stack.wait_for("Press Ctrl-C to stop.", second)
        deadline = time.monotonic() + 30  # the journey resumes, or had already sent it
        while time.monotonic() < deadline:
            _, timeline = stack.call("GET", f"/v1/leads/{created['lead_id']}/timeline", key)
            # To the lead (the neutral welcome also tells an associate of their task).
            touches = [e for e in timeline["entries"] if e["type"] == "touch" and e["to"] == "lead"]
            if touches and touches[0]["status"] == "outbox":
                break
            time.sleep(0.2)
        [welcome] = touches
        assert welcome["status"] == "outbox"
        # Links in messages follow the port this run chose (no PUBLIC_BASE_URL set).
        assert f"http://127.0.0.1:{stack.api}/v1/unsubscribe/" in welcome["body"]
    finally:
        assert _stop(second) == 0


def test_a_busy_port_stops_the_launcher_before_it_touches_anything(tmp_path):
    stack = Stack(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", stack.api))
        squatter.listen()
        launcher = stack.start()
        assert launcher.wait(timeout=60) != 0
    said = stack.output.read_text()
    assert f"port {stack.api} is already in use" in said and "FACET_API_PORT" in said
    assert not (tmp_path / "facet.db").exists()  # nothing migrated, nothing started


def _in_use(*ports: int) -> bool:
    for port in ports:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
    return False


def test_the_banner_links_to_the_console_and_the_first_admins_link_works_once(tmp_path):
    stack = Stack(tmp_path)
    process = stack.start()
    try:
        log, _key = stack.first_banner(process)
        console = re.search(r"Console:\s+(\S+)", log)
        link = re.search(r"First admin:\s+(\S+)", log)
        assert console and link, log
        assert console[1] == f"http://127.0.0.1:{stack.api}/console"
        assert link[1].startswith(f"{console[1]}/invite/")
        assert "admin@example.com" in log
        with httpx.Client(timeout=10) as browser:
            form = browser.get(link[1])
            assert form.status_code == 200 and "admin@example.com" in form.text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf, form.text
            password = "the owner's own password"
            chosen = browser.post(
                link[1], data={"csrf": csrf[1], "password": password, "again": password}
            )
            assert chosen.status_code == 303
            home = browser.get(console[1], follow_redirects=True)
            assert (
                home.status_code == 200 and "Store setup" in browser.get(f"{console[1]}/setup").text
            )
            assert browser.get(link[1]).status_code == 410  # used up
        with httpx.Client(timeout=10) as stranger:
            assert stranger.get(link[1]).status_code == 410
    finally:
        assert _stop(process) == 0
