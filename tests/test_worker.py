"""worker.py as a real process: killed mid-journey and started again, the journey goes on
and no message is sent twice."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import worker
from core.settings import PROJECT_ROOT
from core.vocabulary import ApiRole, FailureReason, JourneyStatus, TouchStatus
from db.repositories import TouchRepository
from providers import registry
from sequences.model import Offset, SendAction, Sequence, Step
from sequences.vocabulary import Channel, Purpose
from tests.conftest import api_client
from tests.conftest import test_settings as settings_for
from tests.factories import enroll, make_lead, set_caps, touches
from tests.standin import Reply, StandIn, provider_keys
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


def _start_worker(
    database_url: str,
    address: str,
    task_queue: str,
    log: Path,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "SECRET_KEY": "test-secret-that-is-not-a-placeholder",
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TASK_QUEUE": task_queue,
        **(extra_env or {}),
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
        ("welcome", TouchStatus.OUTBOX),
        ("four_cs", TouchStatus.OUTBOX),
        ("viewing_invite", TouchStatus.OUTBOX),
    ]


async def test_sigterm_stops_the_worker_cleanly(dev_server, database, tmp_path):
    address = dev_server.client.service_client.config.target_host
    log = tmp_path / "worker.log"
    worker = _start_worker(database.url, address, f"facet-stop-{uuid.uuid4().hex[:8]}", log)
    await _until(lambda: "worker polling" in log.read_text(), "the worker to start", 60)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert "worker stopped" in log.read_text()


async def test_a_worker_held_to_its_floor_still_walks_the_welcome(
    time_skipping, database, store, worker_for
):
    """Intake first never means stalled: with a CPU target no machine is under, the tuner
    gives the worker its floor (one workflow task and one activity at a time) and little
    more, and the welcome journey still sends each of its three messages."""
    lead_id = make_lead(database, store)
    workflow_id, start = enroll(database, lead_id)
    busy = worker.worker_tuner(target_cpu=1e-9)
    async with worker_for(time_skipping.client, tuner=busy) as task_queue:
        result = await time_skipping.client.execute_workflow(
            NurtureJourney.run, start, id=workflow_id, task_queue=task_queue
        )

    assert result.status is JourneyStatus.COMPLETED
    assert [(t.step_id, t.status) for t in touches(database, lead_id)] == [
        ("welcome", TouchStatus.OUTBOX),
        ("four_cs", TouchStatus.OUTBOX),
        ("viewing_invite", TouchStatus.OUTBOX),
    ]


async def test_the_tuner_never_runs_more_activities_than_the_thread_pool_has(
    time_skipping, database, activity_executor
):
    """A sync activity needs a thread: more activity slots than threads would queue sends
    inside the worker, past their start-to-close timeout (the SDK warns when they differ)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        worker.build_worker(
            time_skipping.client,
            task_queue="facet-tuner",
            database=database,
            providers=registry.configured(settings_for(database.url, "facet-tuner")),
            executor=activity_executor,
            settings=settings_for(database.url, "facet-tuner"),
            tuner=worker.worker_tuner(target_cpu=0.7),
        )
    assert not [w for w in caught if "max_workers" in str(w.message)]


# --- killed mid-send, against the real SDKs --------------------------------------------------


def _one_send(key: str, channel: Channel) -> Sequence:
    """One message at once. Transactional, so no quiet hours or caps depend on the clock."""
    send = SendAction(channel=channel, template="engagement/welcome", purpose=Purpose.TRANSACTIONAL)
    return Sequence(key=key, name=key, steps=(Step(id="welcome", at=Offset(), send=send),))


def _providers_at(standin: StandIn) -> dict[str, str]:
    """The environment that points worker.py's SendGrid and Twilio SDKs at the stand-in."""
    keys = {name.upper(): value for name, value in provider_keys(standin).items()}
    return {**keys, "CREATE_SCHEDULES": "false", "PUBLIC_BASE_URL": "https://facet.example"}


def _status(database, workflow_id: str) -> TouchStatus | None:
    touch = database.run(lambda s: TouchRepository(s).by_key(f"{workflow_id}:welcome"))
    return touch.status if touch else None


async def test_worker_killed_mid_send_never_makes_the_provider_send_a_step_twice(
    dev_server, database, store, standin, api_key, tmp_path
):
    """One SIGKILL catches two sends at the two dangerous moments:

    - the email step is claimed and waiting to retry (SendGrid answered 503, Retry-After 10 s):
      the restarted worker sends it, and SendGrid accepts exactly one message;
    - the SMS step's request reached Twilio, which accepted it but had not answered when the
      worker died: the restarted worker never calls Twilio again, and the timeline says the
      outcome is unknown.
    """
    client = dev_server.client
    address = client.service_client.config.target_host
    task_queue = f"facet-kill-{uuid.uuid4().hex[:8]}"
    env = _providers_at(standin)
    log = tmp_path / "worker.log"
    email_lead = make_lead(database, store, consent=[Channel.EMAIL])
    sms_lead = make_lead(database, store, consent=[Channel.SMS])
    email_wf, email_start = enroll(
        database, email_lead, sequence=_one_send("kill_email", Channel.EMAIL)
    )
    sms_wf, sms_start = enroll(database, sms_lead, sequence=_one_send("kill_sms", Channel.SMS))
    mail, messages = "/v3/mail/send", "/Messages.json"

    worker = _start_worker(database.url, address, task_queue, log, env)
    try:
        standin.fail_next(Reply(503, headers={"Retry-After": "10"}))
        email = await client.start_workflow(
            NurtureJourney.run, email_start, id=email_wf, task_queue=task_queue
        )
        await _until(
            lambda: (
                len(standin.requests) == 1 and _status(database, email_wf) is TouchStatus.CLAIMED
            ),
            "SendGrid's 503 and the claim handed back",
            60,
        )
        standin.hold_next()
        sms = await client.start_workflow(
            NurtureJourney.run, sms_start, id=sms_wf, task_queue=task_queue
        )
        await _until(
            lambda: any(messages in r.path for r in standin.requests), "Twilio to get the SMS"
        )
        assert _status(database, sms_wf) is TouchStatus.SENDING
        assert _status(database, email_wf) is TouchStatus.CLAIMED  # still in its backoff

        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        standin.release.set()  # Twilio answers now, to nobody

        worker = _start_worker(database.url, address, task_queue, log, env)
        results = await asyncio.wait_for(asyncio.gather(email.result(), sms.result()), 90)
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    assert [r.status for r in results] == [JourneyStatus.COMPLETED, JourneyStatus.COMPLETED]
    assert [(r.path.endswith(mail), r.accepted) for r in standin.requests] == [
        (True, False),  # 503
        (False, True),  # Twilio took the SMS; the worker died before it heard so
        (True, True),  # the retry after the restart
    ]
    assert len(standin.accepted(mail)) == 1 and len(standin.accepted(messages)) == 1

    [sent] = touches(database, email_lead)
    assert (sent.status, sent.provider) == (TouchStatus.SENT, "sendgrid")
    async with api_client(database, client, task_queue) as http:
        staff = {"Authorization": f"Bearer {api_key(ApiRole.ASSOCIATE, store_id=store.id)}"}
        timeline = (await http.get(f"/v1/leads/{sms_lead}/timeline", headers=staff)).json()
    [unknown] = [e for e in timeline["entries"] if e["type"] == "touch"]
    assert (unknown["step_id"], unknown["channel"], unknown["status"], unknown["reason"]) == (
        "welcome",
        "sms",
        "failed",
        FailureReason.OUTCOME_UNKNOWN,
    )


def test_the_worker_leaves_current_bytecode_for_the_modules_the_sandbox_reimports():
    """With PYTHONDONTWRITEBYTECODE (this machine, the image) nothing else writes .pyc files,
    and the sandbox would compile every workflow module's source for every workflow run."""
    journey = PROJECT_ROOT / "workflows" / "journey.py"
    cached = Path(importlib.util.cache_from_source(str(journey)))
    cached.unlink(missing_ok=True)
    worker.compile_bytecode()
    assert cached.is_file()
    # The .pyc records the source's mtime: Python would ignore a stale one.
    header_mtime = int.from_bytes(cached.read_bytes()[8:12], "little")
    assert header_mtime == int(journey.stat().st_mtime)
