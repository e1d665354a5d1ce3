"""The season simulation: months of a store's life on Temporal's time-skipping server.

Two runs, each on a fresh SQLite file, and a floor under the first. The runs have the real
API (over httpx's ASGI transport), the real worker and the time-skipping test server, whose
clock jumps ahead whenever nothing is in flight. Leads are captured, visit, reply, buy and
opt out through the API the doors use, and associates close their tasks every day, so what
is measured is Facet's own path, not a model of it.

1. The engagement season: 1,000 engagement leads captured on day 0, then 80 simulated days of
   random events (store visits, product views, appointment bookings, purchases, opt-outs).
   Reported: the wall time (`season_sim_wall_s`, target <= 60 s) and journeys per second.
2. The year: 1,000 leads of mixed segments captured over a year, with purchases, repeat
   purchases months later, opt-outs and a Diwali campaign to every lead with email consent.
   Reported: messages per lead per month (mean and the busiest lead's busiest month); it
   checks, over every message that went out, that none reached a lead after a full opt-out,
   none broke the store's frequency caps and none left inside quiet hours.
3. The floor: 200 bare journeys of the engagement journey's shape (a timer and an activity
   or a child workflow per step, nothing else) on the dev server, and their CPU per lead:
   with the machine's cores, the least wall time the engagement season could take here.

`python bench/season.py [--leads N] [--only floor|engagement|year] [--verbose]` runs it alone
(`--verbose`: where the wall time went, every tick; `SEASON_KEEP=1` keeps each run's folder,
its SQLite file and worker log, for a look afterwards); `make bench` runs it after the stack
benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402
from temporalio import workflow  # noqa: E402
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus  # noqa: E402
from temporalio.api.history.v1 import HistoryEvent  # noqa: E402
from temporalio.api.testservice.v1 import UnlockTimeSkippingRequest  # noqa: E402
from temporalio.api.workflowservice.v1 import (  # noqa: E402
    ListClosedWorkflowExecutionsRequest,
    ListOpenWorkflowExecutionsRequest,
)
from temporalio.client import Client  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.service import RPCError  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from api.app import create_app  # noqa: E402
from api.auth import issue_api_key  # noqa: E402
from bench.floor import SeasonFloorJourney, SeasonFloorTask, floor_step  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.vocabulary import ApiRole, JourneyStatus  # noqa: E402
from db.migrate import migrate  # noqa: E402
from db.models import Enrollment, Lead, Store, Touch  # noqa: E402
from db.session import Database  # noqa: E402
from domain.messages import recipient_of  # noqa: E402
from scripts.demo import seed_demo  # noqa: E402
from scripts.stack import process_cpu_seconds  # noqa: E402
from sequences.calendar import next_festival  # noqa: E402
from sequences.loader import LIBRARY_DIR, load_sequence_file  # noqa: E402
from sequences.send_window import is_within_window, local_day, zone_of  # noqa: E402
from sequences.vocabulary import Festival, Purpose  # noqa: E402

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
DEV_SERVER = Path(sys.executable).parent / "temporal"
VERBOSE = False
STALL_S = 180  # a clock that has not jumped ahead for this long has stalled
LOOK_S = 2.0  # while the clock runs, look for leaked time-skipping locks this often
LIST_ATTEMPTS = 5  # a list of workflows is asked for this often before the run gives up
DAY_LIMIT_S = 900  # one simulated day's work that has not ended in this long has stalled
IDLE_S = 60  # a clock that has not jumped for this long: is anything in flight at all?
TICK_DAYS = 3  # associates close their tasks at least this often
CONCURRENCY = 16  # requests the simulated customers and associates have in flight at once
SEASON_TARGET_S = 60.0  # the engagement season's wall time, the issue's target
FLOOR_LEADS = 200  # bare journeys the floor runs (its CPU per lead is what it reports)
ZONES = ("Asia/Kolkata", "Asia/Kolkata", "Asia/Dubai", "Europe/London", "America/New_York")
SEGMENTS = ("engagement", "bridal", "anniversary", "gifting", "daily_wear", "custom", "repair")


def progress(message: str) -> None:
    print(f"[season {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


@dataclass
class Person:
    """One simulated customer: what they tell the store and what they will do, by day."""

    index: int
    segment: str
    zone: str
    phone: str
    email: str
    captured_on: int
    plans: list[tuple[int, str]] = field(default_factory=list)  # (day, what)
    lead_id: str | None = None
    opted_out_at: datetime | None = None


@workflow.defn(sandboxed=False)
class SeasonClock:
    """Sleeps on the server's clock: awaiting it lets the time-skipping server jump ahead as
    soon as nothing is in flight (a long wait is fine, unlike one `sleep` RPC's deadline)."""

    @workflow.run
    async def run(self, seconds: float) -> None:
        await workflow.sleep(seconds)


# What a parent's history says when one of its children closed.
_CHILD_CLOSED = (
    "child_workflow_execution_completed_event_attributes",
    "child_workflow_execution_failed_event_attributes",
    "child_workflow_execution_canceled_event_attributes",
    "child_workflow_execution_timed_out_event_attributes",
    "child_workflow_execution_terminated_event_attributes",
)
_RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
_WORKFLOW_TASK_PENDING = (
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
)
_WORKFLOW_TASK_EVENTS = (
    *_WORKFLOW_TASK_PENDING,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
)
# The workflows Facet starts as children (ParentClosePolicy.ABANDON): a task's
# EscalationTask, and a journey an `enroll` step or a segment change starts.
CHILD_TYPES = frozenset({"EscalationTask", "NurtureJourney"})


class LeakedLocks:
    """Gives back the time-skipping locks the test server keeps for children of closed parents.

    The time-skipping server (sdk-java's temporal-test-server, here 1.40.0) skips time only
    while its lock counter is zero. A child workflow that closes takes one lock "unlocked by
    the parent" and hands its result to the parent; when the parent has already closed (a
    journey that converted before its task was done, a QualifyLead that started a task and
    ended), the parent refuses with NOT_FOUND, the child swallows that, and the lock is never
    given back: from then on the clock moves only at wall-clock speed, i.e. it stops
    (TestWorkflowMutableStateImpl.processCompleteWorkflowExecution, "unlocked by the parent",
    and `update`'s NOT_FOUND for a closed workflow, in github.com/temporalio/sdk-java's
    temporal-test-server; the same family as https://github.com/temporalio/sdk-java/issues/1138,
    a lock kept for an activity of a closed workflow). A real Temporal server drops such a
    result, as Facet expects: its tasks and journeys outlive whoever started them by design.

    So the bench counts those closings itself, from what the server shows (the child's close
    time against its parent's, and, when the two are within a second, whether the parent's
    history recorded the child's close), and gives each such lock back once
    (UnlockTimeSkipping). Nothing else is unlocked: locks for work in flight stay.
    """

    def __init__(self, client: Client, child_types: frozenset[str] = CHILD_TYPES) -> None:
        self._client = client
        self._child_types = child_types
        self._decided: set[str] = set()  # run ids of closed workflows already accounted for
        self._parents: dict[str, datetime | None] = {}  # run id -> close time (closed only)
        self.given_back = 0
        self.idle_unlocks = 0

    async def give_back(self, now: datetime) -> int:
        """Unlock once for every child that closed after its parent since the last call."""
        service = self._client.workflow_service
        closed = await _listing(
            lambda: service.list_closed_workflow_executions(
                ListClosedWorkflowExecutionsRequest(namespace=self._client.namespace)
            )
        )
        fresh = [
            info.execution
            for info in closed.executions
            if info.type.name in self._child_types and info.execution.run_id not in self._decided
        ]
        gate = asyncio.Semaphore(16)

        async def leaked(workflow_id: str, run_id: str) -> bool:
            async with gate:
                return await self._leaked(workflow_id, run_id, now)

        found = await asyncio.gather(*(leaked(e.workflow_id, e.run_id) for e in fresh))
        leaks = sum(found)
        for _ in range(leaks):
            await self._client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
        self.given_back += leaks
        return leaks

    async def give_back_if_idle(self) -> bool:
        """A last resort for a lock leaked some other way: when no open workflow has anything
        in flight (a workflow task, an activity, a child being started) and the clock still
        does not jump, whatever holds it belongs to no running work: unlock once."""
        service = self._client.workflow_service
        listed = await _listing(
            lambda: service.list_open_workflow_executions(
                ListOpenWorkflowExecutionsRequest(namespace=self._client.namespace)
            )
        )
        gate = asyncio.Semaphore(16)

        async def busy(workflow_id: str, run_id: str) -> bool:
            async with gate:
                handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
                described = (await handle.describe()).raw_description
                if described.pending_activities or any(
                    not child.run_id for child in described.pending_children
                ):
                    return True
                # The test server's describe leaves out the pending workflow task: its history
                # shows it (the last workflow task event, if scheduled or started).
                last = None
                async for event in handle.fetch_history_events():
                    if event.event_type in _WORKFLOW_TASK_EVENTS:
                        last = event.event_type
                return last in _WORKFLOW_TASK_PENDING

        found = await asyncio.gather(
            *(busy(info.execution.workflow_id, info.execution.run_id) for info in listed.executions)
        )
        if any(found):
            return False
        await self._client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
        self.idle_unlocks += 1
        progress("the clock was held with nothing in flight: unlocked it once")
        return True

    async def _leaked(self, workflow_id: str, run_id: str, now: datetime) -> bool:
        child = (
            await self._client.get_workflow_handle(workflow_id, run_id=run_id).describe()
        ).raw_description.workflow_execution_info
        closed_at = child.close_time.ToDatetime(tzinfo=UTC)
        if not child.HasField("parent_execution"):
            self._decided.add(run_id)
            return False
        parent = child.parent_execution
        parent_closed_at = await self._parent_closed_at(parent.workflow_id, parent.run_id)
        if parent_closed_at is None:
            # The parent runs: it took the result (and the lock) when the child closed. Just
            # closed children wait for the next look, in case the hand-over is on its way.
            if now - closed_at < timedelta(seconds=1):
                return False
            self._decided.add(run_id)
            return False
        self._decided.add(run_id)
        if parent_closed_at < closed_at - timedelta(seconds=1):
            return True
        if parent_closed_at > closed_at + timedelta(seconds=1):
            return False
        # Closed within a second of each other: the parent's history says who was first.
        handle = self._client.get_workflow_handle(parent.workflow_id, run_id=parent.run_id)
        async for event in handle.fetch_history_events():
            if _closed_child(event) == run_id:
                return False
        return True

    async def _parent_closed_at(self, workflow_id: str, run_id: str) -> datetime | None:
        if run_id in self._parents:
            return self._parents[run_id]
        info = (
            await self._client.get_workflow_handle(workflow_id, run_id=run_id).describe()
        ).raw_description.workflow_execution_info
        if info.status == _RUNNING:
            return None
        self._parents[run_id] = info.close_time.ToDatetime(tzinfo=UTC)
        return self._parents[run_id]


Listed = TypeVar("Listed")


async def _listing(call: Callable[[], Awaitable[Listed]]) -> Listed:
    """A list call, asked again when it fails: the test server walks its workflows without
    a lock, so a list made while a workflow starts can fail (ConcurrentModificationException,
    "Application error processing RPC")."""
    for _ in range(LIST_ATTEMPTS - 1):
        try:
            return await call()
        except RPCError:
            continue
    return await call()


def _closed_child(event: HistoryEvent) -> str | None:
    """The run id of the child whose closing this parent's event records, if it is one."""
    kind = event.WhichOneof("attributes")
    if kind not in _CHILD_CLOSED:
        return None
    return str(getattr(event, kind).workflow_execution.run_id)


class SeasonStalled(Exception):
    """The time-skipping server's clock stopped: nothing ran and time did not move on."""

    def __init__(self, day: int) -> None:
        super().__init__(f"the server's clock stopped on day {day}")
        self.day = day


@dataclass
class Harness:
    """The API, a worker and the time-skipping server around one fresh SQLite file."""

    env: WorkflowEnvironment
    http: httpx.AsyncClient
    database: Database
    store_id: uuid.UUID
    pos_key: str
    staff_key: str
    manager_key: str
    marketing_key: str
    started: datetime
    clock_queue: str
    locks: LeakedLocks
    # Wall seconds, by what they went on ("clock" includes "locks").
    spent: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    async def day(self, number: int) -> None:
        """Let the server's clock run to the start of simulated day `number`."""
        target = self.started + timedelta(days=number)
        await self.skip((target - await self.env.get_current_time()).total_seconds())

    async def skip(self, seconds: float) -> None:
        """Let the server's clock run `seconds` on, giving back leaked locks as it goes."""
        if seconds <= 0:
            return
        async with self.timed("locks"):
            await self.locks.give_back(await self.now())
        jump = await self.env.client.start_workflow(
            SeasonClock.run,
            seconds,
            id=f"season-clock-{uuid.uuid4().hex}",
            task_queue=self.clock_queue,
        )
        moved_at, server_at, asked_at = time.monotonic(), await self.now(), time.monotonic()
        while True:
            looked_at = time.monotonic()
            try:
                # result() unlocks time skipping while it waits (the environment's own lock).
                await asyncio.wait_for(jump.result(), timeout=LOOK_S)
                return
            except TimeoutError:
                pass
            now = await self.now()
            async with self.timed("locks"):
                leaks = await self.locks.give_back(now)
            # A locked clock moves at wall-clock speed; more than that is a jump.
            if leaks or now - server_at > timedelta(seconds=time.monotonic() - looked_at + 1):
                moved_at = time.monotonic()
            server_at = now
            if time.monotonic() - max(moved_at, asked_at) > IDLE_S:
                asked_at = time.monotonic()
                async with self.timed("locks"):
                    if await self.locks.give_back_if_idle():
                        moved_at = time.monotonic()
            if time.monotonic() - moved_at > STALL_S:
                raise SeasonStalled((now - self.started).days)

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    @asynccontextmanager
    async def timed(self, what: str) -> AsyncIterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.spent[what] += time.perf_counter() - began

    async def post(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        response = await self.http.post(path, json=body, headers={"Authorization": f"Bearer {key}"})
        if response.status_code >= 300:
            raise RuntimeError(f"POST {path} answered {response.status_code}: {response.text}")
        return dict(response.json())

    async def close_tasks(self) -> int:
        """The associates' day: every open task is answered (a customer was contacted)."""
        response = await self.http.get(
            "/v1/tasks",
            params={"limit": 500, "store_id": str(self.store_id)},
            headers={"Authorization": f"Bearer {self.manager_key}"},
        )
        response.raise_for_status()
        done: list[bool] = []

        async def complete(task_id: str) -> None:
            answer = await self.http.post(
                f"/v1/tasks/{task_id}/complete",
                json={"outcome": "contacted"},
                headers={"Authorization": f"Bearer {self.manager_key}"},
            )
            done.append(answer.status_code == 200)

        tasks = response.json()["tasks"]
        await _gathered([complete(task["id"]) for task in tasks], concurrency=CONCURRENCY)
        return sum(done)


def spawn_worker(
    url: str, temporal: str, task_queue: str, secret: str, log: Path
) -> subprocess.Popen[bytes]:
    """Facet's worker (`worker.py`) in a process of its own, as in production: inside this
    one it would share one interpreter lock with the API and the simulated customers."""
    return subprocess.Popen(
        [sys.executable, "worker.py"],
        cwd=ROOT,
        env={
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": url,
            "TEMPORAL_ADDRESS": temporal,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "SECRET_KEY": secret,
            "CREATE_SCHEDULES": "false",
            # Fixed activity slots (the documented setting for a worker that does not yield
            # to intake): the simulation keeps the machine busy all the time, so the default
            # intake-first tuner would hold the worker to one activity at a time throughout.
            "WORKER_TARGET_CPU": "0",
            # Every open workflow stays in the worker's cache (TEMPORAL_NOTES: above the
            # journeys in flight): 1,000 leads keep ~2,200 journeys, tasks and qualifications
            # open at once, past the default 2,000, and an evicted one is replayed in full.
            "WORKER_MAX_CACHED_WORKFLOWS": "10000",
        },
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


@asynccontextmanager
async def harness(label: str) -> AsyncIterator[Harness]:
    tmp = Path(tempfile.mkdtemp(prefix=f"facet-season-{label}-"))
    url = f"sqlite:///{tmp / 'facet.db'}"
    migrate(url)
    database = Database(url)
    demo = seed_demo(database)
    pos_key = issue_api_key(database, name="season-pos", role=ApiRole.POS)
    staff_key = issue_api_key(
        database, name="season-staff", role=ApiRole.ASSOCIATE, store_id=demo.store_id
    )
    manager_key = issue_api_key(database, name="season-admin", role=ApiRole.ADMIN)
    marketing_key = issue_api_key(database, name="season-marketing", role=ApiRole.MARKETING)
    task_queue = f"facet-season-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        environment="test",
        database_url=url,
        temporal_task_queue=task_queue,
        secret_key="season-simulation-secret-not-a-placeholder",
    )
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(TEST_SERVER),
        test_server_startup_timeout=timedelta(seconds=60),
    )
    worker = spawn_worker(
        url,
        env.client.service_client.config.target_host,
        task_queue,
        settings.secret_key.get_secret_value(),
        tmp / "worker.log",
    )
    try:
        app = create_app(settings, database=database, temporal=env.client)
        transport = httpx.ASGITransport(app=app)
        clock_queue = f"{task_queue}-clock"
        clock = Worker(env.client, task_queue=clock_queue, workflows=[SeasonClock])
        async with (
            clock,
            httpx.AsyncClient(
                transport=transport, base_url="http://season.test", timeout=120
            ) as http,
        ):
            yield Harness(
                env=env,
                http=http,
                database=database,
                store_id=demo.store_id,
                pos_key=pos_key,
                staff_key=staff_key,
                manager_key=manager_key,
                marketing_key=marketing_key,
                started=await env.get_current_time(),
                clock_queue=clock_queue,
                locks=LeakedLocks(env.client),
            )
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        await env.shutdown()
        database.dispose()
        if os.environ.get("SEASON_KEEP"):
            progress(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


# --- people and what they do ----------------------------------------------------------------


def make_people(count: int, rng: random.Random, *, year: bool) -> list[Person]:
    people = []
    for index in range(count):
        segment = rng.choice(SEGMENTS) if year else "engagement"
        captured_on = rng.randrange(0, 330, TICK_DAYS) if year else 0
        person = Person(
            index=index,
            segment=segment,
            zone=rng.choice(ZONES),
            phone=f"98{rng.randrange(10**8):08d}",
            email=f"customer{index}.{uuid.uuid4().hex[:6]}@example.com",
            captured_on=captured_on,
        )
        horizon = 80 if not year else 365
        for kind, chance in (("store_visit", 0.35), ("product_view", 0.5), ("appointment", 0.2)):
            if rng.random() < chance:
                person.plans.append((captured_on + rng.randrange(1, 60), kind))
        if rng.random() < 0.25:
            bought = captured_on + rng.randrange(3, 70)
            person.plans.append((bought, "purchase"))
            if year and rng.random() < 0.4:
                person.plans.append((bought + rng.randrange(90, 200), "purchase"))
        if rng.random() < 0.1:
            person.plans.append((captured_on + rng.randrange(1, 75), "opt_out"))
        # Things happen on the simulation's ticks (each one a jump of the server's clock).
        person.plans = sorted((d - d % TICK_DAYS, what) for d, what in person.plans if d < horizon)
        people.append(person)
    return people


def capture_body(store_id: uuid.UUID, person: Person) -> dict[str, Any]:
    messages = {
        "engagement": "Looking for an engagement ring, a solitaire around 1 carat",
        "bridal": "Bridal set for our wedding in February",
        "anniversary": "Something for our 10th anniversary",
        "gifting": "A gift for my mother",
        "daily_wear": "Light daily wear gold chain for office",
        "custom": "I want a custom designed pendant",
        "repair": "My bracelet clasp is broken, can you repair it?",
    }
    return {
        "store_id": str(store_id),
        "source": "web_form",
        "first_name": "Customer",
        "phone": person.phone,
        "email": person.email,
        "preferred_channel": "email",
        "message": messages[person.segment],
        "consent": {"email": True, "sms": True, "evidence": "Web form v3, boxes ticked"},
        "timezone": person.zone,
    }


async def act(h: Harness, person: Person, what: str, number: int) -> None:
    assert person.lead_id is not None
    if what == "purchase":
        await h.post(
            "/v1/pos/purchases",
            {
                "store_id": str(h.store_id),
                "pos_transaction_id": f"season-{person.index}-{number}",
                "customer": {"phone": person.phone},
                "amount_minor": 85_000_00,
                "items": [{"name": "Solitaire ring", "category": "engagement_ring"}],
            },
            h.pos_key,
        )
        return
    kind = {"appointment": "appointment_booked", "opt_out": "opted_out"}.get(what, what)
    if what == "opt_out":
        person.opted_out_at = await h.now()
    await h.post(
        f"/v1/leads/{person.lead_id}/events",
        {"event_id": f"season-{person.index}-{number}-{kind}", "kind": kind, "source": "season"},
        h.staff_key,
    )


async def live_through(
    h: Harness, people: list[Person], days: int, *, on_day: Callable[[int], Awaitable[None]]
) -> None:
    """Day by day: capture who arrives, do what is planned, let associates close tasks."""
    by_day: dict[int, list[tuple[Person, str, int]]] = defaultdict(list)
    arrivals: dict[int, list[Person]] = defaultdict(list)
    for person in people:
        arrivals[person.captured_on].append(person)
        for number, (day, what) in enumerate(person.plans):
            by_day[day].append((person, what, number))

    async def live(day: int) -> None:
        async with h.timed("clock"):
            await h.day(day)
        async with h.timed("captures"):
            await _gathered(
                [_capture(h, person) for person in arrivals.get(day, [])], concurrency=CONCURRENCY
            )
        async with h.timed("events"):
            await _gathered(
                [act(h, p, what, n) for p, what, n in by_day.get(day, []) if p.lead_id],
                concurrency=CONCURRENCY,
            )
        await on_day(day)
        async with h.timed("tasks"):
            await h.close_tasks()

    for day in range(days):
        if day not in arrivals and day not in by_day and day % TICK_DAYS:
            continue  # nothing planned: let the clock run on to the next day that has
        try:
            # The clock's own stall check covers waiting for it; this covers a call to the
            # server (a signal, a list) that never answers once its clock has stopped.
            await asyncio.wait_for(live(day), timeout=DAY_LIMIT_S)
        except TimeoutError:
            raise SeasonStalled(day) from None
        if day % 10 == 0 or VERBOSE:
            progress(f"day {day}: " + ", ".join(f"{k} {v:.1f} s" for k, v in h.spent.items()))


async def _capture(h: Harness, person: Person) -> None:
    created = await h.post("/v1/leads", capture_body(h.store_id, person), h.pos_key)
    person.lead_id = created["lead_id"]


async def _gathered(calls: list[Awaitable[None]], *, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Awaitable[None]) -> None:
        async with gate:
            await call

    await asyncio.gather(*(one(call) for call in calls))


def running_journeys(h: Harness) -> int:
    active = select(Enrollment.id).where(Enrollment.status == JourneyStatus.ACTIVE)
    return h.database.read(lambda s: len(s.scalars(active).all()))


async def wait_for_journeys(h: Harness, *, give_up_after_days: int) -> int:
    """Skip time until no journey runs (or the limit); the number still running."""
    for extra in range(give_up_after_days):
        if running_journeys(h) == 0:
            return 0
        await h.skip(86_400)
        if extra % 2 == 1:
            await h.close_tasks()
    return running_journeys(h)


# --- what went out ---------------------------------------------------------------------------


@dataclass
class Outcome:
    messages: int
    per_lead_month_mean: float
    per_lead_month_max: int
    after_opt_out: int
    over_cap: int
    in_quiet_hours: int


def examine(
    database: Database, store_id: uuid.UUID, started: datetime, people: list[Person]
) -> Outcome:
    """Every message that went out to the store's leads, checked against their opt-outs, the
    store's frequency caps and quiet hours; `started` is the simulation's day 0."""
    opted_out = {
        uuid.UUID(p.lead_id): p.opted_out_at for p in people if p.lead_id and p.opted_out_at
    }

    def read(session: Any) -> tuple[list[Touch], dict[uuid.UUID, Lead], Store]:
        leads = {
            lead.id: lead
            for lead in session.scalars(select(Lead).where(Lead.store_id == store_id)).all()
        }
        touches = session.scalars(
            select(Touch)
            .join(Lead, Lead.id == Touch.lead_id)
            .where(Lead.store_id == store_id, Touch.sent_at.is_not(None), Touch.staff_id.is_(None))
        ).all()
        return list(touches), leads, session.get_one(Store, store_id)

    touches, leads, store = database.read(read)
    per_day = store.max_marketing_per_day or Settings.model_fields["max_marketing_per_day"].default
    per_week = (
        store.max_marketing_per_week or Settings.model_fields["max_marketing_per_week"].default
    )
    monthly: Counter[tuple[uuid.UUID, int]] = Counter()
    marketing_days: dict[uuid.UUID, list[date]] = defaultdict(list)
    after_opt_out = in_quiet_hours = 0
    for touch in touches:
        assert touch.sent_at is not None
        sent_at = touch.sent_at if touch.sent_at.tzinfo else touch.sent_at.replace(tzinfo=UTC)
        monthly[(touch.lead_id, (sent_at - started).days // 30)] += 1
        if touch.purpose is not Purpose.MARKETING:
            continue
        lead = leads[touch.lead_id]
        recipient = recipient_of(lead, store)
        marketing_days[touch.lead_id].append(local_day(sent_at, zone_of(recipient)))
        stopped = opted_out.get(touch.lead_id)
        if stopped is not None and sent_at > stopped:
            after_opt_out += 1
        if not is_within_window(sent_at, recipient, Purpose.MARKETING):
            in_quiet_hours += 1
    over_cap = 0
    for days in marketing_days.values():
        counted = Counter(days)
        over_cap += sum(1 for n in counted.values() if n > per_day)
        ordered = sorted(days)
        for i, day in enumerate(ordered):
            window = [d for d in ordered[: i + 1] if day - timedelta(days=6) <= d]
            over_cap += len(window) > per_week
    lead_months = len({key for key in monthly})
    return Outcome(
        messages=len(touches),
        per_lead_month_mean=(sum(monthly.values()) / lead_months) if lead_months else 0.0,
        per_lead_month_max=max(monthly.values(), default=0),
        after_opt_out=after_opt_out,
        over_cap=over_cap,
        in_quiet_hours=in_quiet_hours,
    )


# --- the two runs ----------------------------------------------------------------------------


async def engagement_season(leads: int, seed: int = 7) -> dict[str, float]:
    rng = random.Random(seed)
    people = make_people(leads, rng, year=False)
    async with harness("engagement") as h:
        progress(f"engagement season: {leads} leads, 80 days")
        began = time.perf_counter()

        async def nothing(day: int) -> None:
            return None

        # 80 days hold the whole 75-day sequence; what runs on after it waits for a later
        # season (the proposal step next December, a buyer's post-purchase year).
        await live_through(h, people, 80, on_day=nothing)
        still = running_journeys(h)
        wall = time.perf_counter() - began
        outcome = examine(h.database, h.store_id, h.started, people)
        journeys = h.database.read(lambda s: len(s.scalars(select(Enrollment.id)).all()))
        given_back = h.locks.given_back
        spent = dict(h.spent)
    _check(outcome, "engagement season")
    return {
        "season_sim_wall_s": wall,
        "season_sim_journeys": journeys,
        "season_sim_journeys_per_s": journeys / wall,
        "season_sim_messages": outcome.messages,
        "season_sim_still_running": still,
        "season_sim_locks_given_back": given_back,
        "season_sim_idle_unlocks": h.locks.idle_unlocks,
        **{f"season_sim_{what}_s": seconds for what, seconds in spent.items()},
    }


async def whole_year(leads: int, seed: int = 11) -> dict[str, float]:
    rng = random.Random(seed)
    people = make_people(leads, rng, year=True)
    async with harness("year") as h:
        progress(f"the year: {leads} leads of mixed segments, 365 days")
        began = time.perf_counter()

        diwali = next_festival(Festival.DIWALI, h.started.date())
        assert diwali is not None, "the calendar knows the coming Diwali"
        campaign_day = (diwali - h.started.date()).days - 25
        campaign_day -= campaign_day % TICK_DAYS  # on one of the ticks
        campaign: dict[str, Any] = {}

        async def diwali_campaign(day: int) -> None:
            if day != campaign_day:
                return
            created = await h.post(
                "/v1/campaigns",
                {"name": "Diwali", "sequence_key": "festive_diwali", "channels": ["email"]},
                h.marketing_key,
            )
            preview = await h.http.get(
                f"/v1/campaigns/{created['id']}/preview",
                headers={"Authorization": f"Bearer {h.marketing_key}"},
            )
            campaign["previewed"] = preview.json()["count"]
            await h.post(f"/v1/campaigns/{created['id']}/start", {}, h.marketing_key)
            campaign["id"] = created["id"]
            progress(f"Diwali campaign started on day {day} for {campaign['previewed']} leads")

        await live_through(h, people, 365, on_day=diwali_campaign)
        await wait_for_journeys(h, give_up_after_days=5)
        wall = time.perf_counter() - began
        outcome = examine(h.database, h.store_id, h.started, people)
        enrolled = 0
        if "id" in campaign:
            shown = await h.http.get(
                f"/v1/campaigns/{campaign['id']}",
                headers={"Authorization": f"Bearer {h.marketing_key}"},
            )
            enrolled = int(shown.json()["enrolled"])
        given_back = h.locks.given_back
        spent = dict(h.spent)
    _check(outcome, "year")
    return {
        "year_sim_wall_s": wall,
        "year_messages": outcome.messages,
        "year_messages_per_lead_month": outcome.per_lead_month_mean,
        "year_messages_busiest_lead_month": outcome.per_lead_month_max,
        "year_after_opt_out": outcome.after_opt_out,
        "year_over_cap": outcome.over_cap,
        "year_in_quiet_hours": outcome.in_quiet_hours,
        "year_campaign_previewed": campaign.get("previewed", 0),
        "year_campaign_enrolled": enrolled,
        "year_locks_given_back": given_back,
        "year_idle_unlocks": h.locks.idle_unlocks,
        **{f"year_sim_{what}_s": seconds for what, seconds in spent.items()},
    }


# --- the floor under the engagement season ---------------------------------------------------


def _process_cpu_s(pid: int) -> float:
    seconds = process_cpu_seconds(pid)
    if seconds is None:
        raise RuntimeError(f"no CPU reading for process {pid} (Linux /proc)")
    return seconds


def _listening_on(port: int) -> int:
    """The process started with `--port <port>` (the dev server the environment started)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--port" in arguments and str(port).encode() in arguments:
            return int(entry.name)
    raise RuntimeError(f"no process serves port {port}")


def engagement_step_kinds() -> list[str]:
    """The engagement-ring journey's steps, as the floor runs them: a send, or a child
    workflow (a task, an enrolment); waits and jumps cost a timer only."""
    sequence = load_sequence_file(LIBRARY_DIR / "engagement_ring.yaml")
    kinds = []
    for step in sequence.steps:
        if step.send is not None:
            kinds.append("send")
        elif step.task is not None or step.enroll is not None:
            kinds.append("child")
    return kinds


async def bare_floor(
    leads: int, season_leads: int, *, timer_s: float = 1.0, kinds: list[str] | None = None
) -> dict[str, float]:
    """`leads` bare journeys of the engagement journey's shape on Temporal's dev server, with a
    worker in this process: no database, API, template or provider. Their CPU per lead is
    the least a season simulation of this sequence costs here; times `season_leads` over the
    machine's cores, it bounds that run's wall time from below (`season_floor_min_wall_s`;
    a low bound: the dev server's CPU per journey grows with the journeys open at once).
    `kinds` (a test's shorter journey) replaces the engagement journey's steps."""
    kinds = kinds or engagement_step_kinds()
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(DEV_SERVER),
        dev_server_startup_timeout=timedelta(seconds=60),
        dev_server_log_level="error",
    )
    try:
        server = _listening_on(int(env.client.service_client.config.target_host.rsplit(":")[1]))
        task_queue = f"season-floor-{uuid.uuid4().hex[:8]}"
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[SeasonFloorJourney, SeasonFloorTask],
            activities=[floor_step],
            max_cached_workflows=4 * leads,
        ):
            progress(f"floor: {leads} bare journeys of {len(kinds)} steps on the dev server")
            own, served = time.process_time(), _process_cpu_s(server)
            began = time.perf_counter()
            handles = await asyncio.gather(
                *(
                    env.client.start_workflow(
                        SeasonFloorJourney.run,
                        args=[kinds, timer_s],
                        id=f"floor-{i}",
                        task_queue=task_queue,
                    )
                    for i in range(leads)
                )
            )
            for handle in handles:
                if await handle.result() != len(kinds):
                    raise AssertionError(f"{handle.id} did not run all {len(kinds)} steps")
            wall = time.perf_counter() - began
            worker_cpu = time.process_time() - own
            server_cpu = _process_cpu_s(server) - served
    finally:
        await env.shutdown()
    per_lead = (worker_cpu + server_cpu) / leads
    cores = os.cpu_count() or 1
    return {
        "season_floor_leads": leads,
        "season_floor_wall_s": wall,
        "season_floor_cpu_ms_per_lead": per_lead * 1000,
        "season_floor_worker_cpu_ms_per_lead": worker_cpu / leads * 1000,
        "season_floor_server_cpu_ms_per_lead": server_cpu / leads * 1000,
        "season_floor_min_wall_s": per_lead * season_leads / cores,
    }


def _check(outcome: Outcome, run: str) -> None:
    broken = {
        "messages after an opt-out": outcome.after_opt_out,
        "days over a frequency cap": outcome.over_cap,
        "marketing messages inside quiet hours": outcome.in_quiet_hours,
    }
    wrong = {what: n for what, n in broken.items() if n}
    if wrong:
        raise AssertionError(f"{run}: {wrong}")


def simulate(leads: int = 1000, only: str | None = None) -> dict[str, float]:
    """The floor and both runs (or `only` one); a run whose clock stalls reports the day it
    stopped on (`season_sim_stalled_on_day`, `year_sim_stalled_on_day`) instead of its
    figures."""
    results: dict[str, float] = {}
    if only in (None, "floor"):
        results.update(asyncio.run(bare_floor(min(leads, FLOOR_LEADS), leads)))
    runs = (("engagement", "season_sim", engagement_season), ("year", "year_sim", whole_year))
    for name, prefix, run in runs:
        if only not in (None, name):
            continue
        began = time.perf_counter()
        try:
            results.update(asyncio.run(run(leads)))
        except SeasonStalled as stalled:
            progress(f"{name}: {stalled} after {time.perf_counter() - began:.0f} s")
            results[f"{prefix}_stalled_on_day"] = stalled.day
            results[f"{prefix}_stalled_after_s"] = time.perf_counter() - began
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description="Facet's season simulation")
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--only", choices=["floor", "engagement", "year"])
    parser.add_argument("--verbose", action="store_true", help="say where the time went, daily")
    arguments = parser.parse_args()
    global VERBOSE
    VERBOSE = arguments.verbose
    results = simulate(arguments.leads, arguments.only)
    for name, value in results.items():
        print(f"{name:<36}{value:>12.3f}")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
