"""`make bench`: speed-to-lead and ingest throughput of the embedded stack, against bare Temporal.

A benchmark, not a test. It brings up its own stack in a temporary directory (a fresh SQLite
file, a Temporal dev server, `worker.py` and the API under uvicorn, all on free ports; the
user's .data/ is never touched), then measures:

1. speed-to-lead: 200 leads posted open-loop at 10/s through the HTTP API; per lead, the time
   from sending its request to the `sent_at` of its first sent Touch (written by the worker).
2. the floor: 200 bare-SDK workflow starts at 10/s on the same dev server; per workflow, the
   time from the start call to its one activity starting (a worker inside this process).
3. ingest: a burst of 500 leads through the API (32 in flight) against 500 bare-SDK
   start_workflow + signal pairs (32 in flight) on the same dev server; three rounds, each
   an API burst and a bare burst back to back, and the round with the median ratio is
   reported (two bursts a minute apart on a shared machine differ by more than the effect).
4. hot event → task: 50 leads, each sent one hard-trigger event (a certification question or
   an appointment request) through the API; the time from the request to its Task row.
5. reads: the API's CPU per lead or timeline read (500 reads at 50/s, nothing else running),
   then speed-to-lead again (200 leads at 10/s) while 50 reads a second run beside it.
6. a burst of 2,000 captures (32 in flight) and its drain: the worker's workflow task
   duration p95 from the Temporal SDK's own histogram (the worker serves its metrics),
   the workflow task timeouts in the histories of every workflow the burst started, and the
   drain rate (welcomes a second, from the burst's first request to its last welcome).
7. rescoring 100,000 leads (five events each) through the nightly path, on a temporary SQLite
   file, after the stack has stopped (bench/qualify.py says what is timed).
8. the season simulation (bench/season.py): its floor (200 bare journeys of the engagement
   journey's shape, whose CPU bounds the season's wall time from below), 1,000 engagement
   leads through 80 days of random events on the time-skipping server, then a year of 1,000
   leads of mixed segments, checked for messages after an opt-out, over a cap or inside
   quiet hours.
9. insight (bench/insight.py): on a temporary SQLite file with 100,000 leads and 1,000,000
   messages, each dashboard panel's metric p95 (`dashboard_p95_ms`, the worst panel) and a
   plain-words question's p95 (`question_p95_ms`), after the stack has stopped.
10. a CSV import of 100,000 sale lines (bench/csv_import.py says what is timed), after the
    stack has stopped, on a temporary SQLite file of its own.

`--only stress` runs the warm-up and parts 5 and 6 alone (`--burst N` to shrink the burst),
to check them without the rest; `--only season` runs the season simulation alone,
`--only insight` the dashboards and questions and `--only csv_import` the CSV import (no
stack is started for these).

Leads are posted with aiohttp: the load generator shares the two CPUs with the stack, and
httpx cost about 3 ms of CPU per request against aiohttp's 0.4 ms (and the bare SDK client's
1.4 ms), CPU the API was then measured without.

Results go to bench/results/latest.json; a table is printed. Exit code 0 means it ran, not that
the targets were met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import Engine, create_engine, func, select  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from bench.csv_import import measure_csv_import  # noqa: E402
from bench.floor import FloorActivities, FloorWorkflow, SignalWaitWorkflow  # noqa: E402
from bench.insight import measure_insight  # noqa: E402
from bench.qualify import measure_hot_event_to_task, measure_rescore  # noqa: E402
from bench.season import SEASON_TARGET_S, simulate  # noqa: E402
from bench.stress import (  # noqa: E402
    histogram_quantile,
    read_load,
    worker_metrics,
    workflow_task_timeouts,
)
from core.vocabulary import TouchStatus  # noqa: E402
from db.migrate import migrate  # noqa: E402
from db.models import Touch  # noqa: E402
from db.session import Database  # noqa: E402
from scripts.demo import seed_demo  # noqa: E402
from scripts.stack import WORKER_COMMAND, StackFailed, api_command, temporal_command  # noqa: E402
from scripts.stack import Stack as ProcessStack  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "latest.json"

RATE_PER_S = 10.0
SPEED_LEADS = 200
FLOOR_STARTS = 200
BURST = 500
BURST_CONCURRENCY = 32
INGEST_ROUNDS = 3
WARMUP_LEADS = 5
SEND_TIMEOUT_S = 120.0
POLL_S = 0.05
STOP_TIMEOUT_S = 40.0  # the worker gives in-flight activities 30 s
TASK_QUEUE = "facet-bench"

HOT_EVENTS = 50
RESCORE_LEADS = 100_000
CSV_IMPORT_LINES = 100_000
TARGET_CSV_IMPORT_S = 60.0

READ_RATE_PER_S = 50.0
CPU_READS = 500  # reads alone, to measure the API's CPU per read
BIG_BURST = 2_000
BIG_BURST_DRAIN_S = 420.0
WFT_LATENCY = "temporal_workflow_task_execution_latency"
WFT_SCHEDULE_TO_START = "temporal_workflow_task_schedule_to_start_latency"

TARGET_P95_S = 1.0
TARGET_RATIO = 0.7
TARGET_RESCORE_S = 60.0
TARGET_INSIGHT_MS = 300.0  # each dashboard panel's p95, and a question's
TARGET_WFT_P95_S = 1.0
TARGET_TIMEOUTS = 0

_T0 = time.monotonic()


def progress(message: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {message}", flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- the stack ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Stack:
    """The benchmark's own embedded stack (scripts/stack.py starts and stops its processes)."""

    tmp: Path
    db_path: Path
    database_url: str
    temporal_address: str
    api_base: str
    store_id: uuid.UUID
    admin_key: str
    worker_metrics_url: str
    processes: ProcessStack = field(default_factory=lambda: ProcessStack(say=progress))

    def check_running(self) -> None:
        try:
            self.processes.check_running()
        except StackFailed as failure:
            raise RuntimeError(f"{failure}; see its log") from failure

    def stop(self) -> None:
        self.processes.stop(timeout=STOP_TIMEOUT_S)

    def cpu_seconds(self) -> dict[str, float]:
        return self.processes.cpu_seconds()

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.tmp / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def bring_up(tmp: Path) -> Stack:
    db_path = tmp / "facet.db"
    database_url = f"sqlite:///{db_path}"
    progress(f"stack: migrating a fresh database in {tmp}")
    migrate(database_url)
    database = Database(database_url)
    demo = seed_demo(database)
    database.dispose()
    if demo.admin_key is None:
        raise RuntimeError("the fresh database already had a demo store")

    temporal_port, api_port, metrics_port = free_port(), free_port(), free_port()
    stack = Stack(
        tmp=tmp,
        db_path=db_path,
        database_url=database_url,
        temporal_address=f"127.0.0.1:{temporal_port}",
        api_base=f"http://127.0.0.1:{api_port}",
        store_id=demo.store_id,
        admin_key=demo.admin_key,
        worker_metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": stack.temporal_address,
        "TEMPORAL_TASK_QUEUE": TASK_QUEUE,
        "WORKER_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}",
    }
    processes = stack.processes
    try:
        progress(f"stack: Temporal dev server on port {temporal_port}")
        processes.start(
            "temporal",
            temporal_command(
                db_file=tmp / "temporal.db", port=temporal_port, ui_port=None, log_level="error"
            ),
            log=tmp / "temporal.log",
        )
        processes.wait_for_port(temporal_port, "the Temporal dev server", 60)
        progress("stack: worker and API")
        processes.start("worker", WORKER_COMMAND, log=tmp / "worker.log", env=env)
        processes.start("api", api_command(api_port), log=tmp / "api.log", env=env)
        processes.wait_for_health(stack.api_base, 60)
    except BaseException:
        stack.stop()
        raise
    progress(f"stack: healthy at {stack.api_base}")
    return stack


# --- reading the outbox -------------------------------------------------------------------


class SentTouches:
    """Read-only view of the touch table (plain SELECTs on the same SQLite file, WAL mode)."""

    def __init__(self, db_path: Path) -> None:
        # No BEGIN IMMEDIATE here (unlike db.session): this engine never writes or locks.
        self._engine: Engine = create_engine(f"sqlite:///{db_path}")

    def first_sent(self, lead_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        """Each given lead's earliest `sent_at` over its sent touches."""
        query = (
            select(Touch.lead_id, func.min(Touch.sent_at))
            .where(Touch.status.in_((TouchStatus.SENT, TouchStatus.OUTBOX)))
            .group_by(Touch.lead_id)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return {lead: at for lead, at in rows if lead in lead_ids and at is not None}

    def dispose(self) -> None:
        self._engine.dispose()


async def wait_for_sends(
    touches: SentTouches, lead_ids: Collection[uuid.UUID], what: str, limit_s: float
) -> dict[uuid.UUID, datetime]:
    deadline = time.monotonic() + limit_s
    last_report = 0.0
    while True:
        sent = await asyncio.to_thread(touches.first_sent, lead_ids)
        if len(sent) >= len(lead_ids) or time.monotonic() > deadline:
            break
        if time.monotonic() - last_report > 2:
            progress(f"{what}: {len(sent)}/{len(lead_ids)} first messages sent")
            last_report = time.monotonic()
        await asyncio.sleep(POLL_S)
    if len(sent) < len(lead_ids):
        progress(f"{what}: timed out with {len(sent)}/{len(lead_ids)} sent")
    return sent


# --- leads ----------------------------------------------------------------------------------


class LeadFactory:
    """Unique, valid leads: +91 98XXXXXXXX mobiles, unique emails, email + WhatsApp consent."""

    def __init__(self, store_id: uuid.UUID) -> None:
        self._store_id = str(store_id)
        self._run = uuid.uuid4().hex[:8]
        self._numbers = iter(random.sample(range(10**8), 20_000))
        self._count = 0

    def next(self) -> dict[str, Any]:
        self._count += 1
        return {
            "store_id": self._store_id,
            "source": "web_form",
            "first_name": f"Bench{self._count}",
            "phone": f"+9198{next(self._numbers):08d}",
            "email": f"bench-{self._run}-{self._count}@example.com",
            "segment": "engagement",
            "consent": {"email": True, "whatsapp": True, "evidence": "bench: web form checkbox"},
        }


@dataclass
class Posted:
    sent_wall: float  # time.time() just before the request went out
    response_s: float
    status: int
    lead_id: uuid.UUID | None


async def post_lead(http: aiohttp.ClientSession, body: dict[str, Any]) -> Posted:
    sent_wall = time.time()
    started = time.perf_counter()
    try:
        async with http.post("/v1/leads", json=body) as response:
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError) as error:
        progress(f"request failed: {type(error).__name__}: {error}")
        return Posted(sent_wall, time.perf_counter() - started, 0, None)
    elapsed = time.perf_counter() - started
    if response.status != 201:
        progress(f"unexpected {response.status}: {text[:200]}")
        return Posted(sent_wall, elapsed, response.status, None)
    return Posted(sent_wall, elapsed, 201, uuid.UUID(json.loads(text)["lead_id"]))


async def open_loop(count: int, fire: Callable[[int], Awaitable[None]], what: str) -> None:
    """Call fire(i) at t0 + i / rate, however long earlier calls take."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05
    fired = 0

    async def at_slot(i: int) -> None:
        nonlocal fired
        await asyncio.sleep(max(0.0, t0 + i / RATE_PER_S - loop.time()))
        fired += 1
        await fire(i)

    tasks = [asyncio.create_task(at_slot(i)) for i in range(count)]
    while not all(task.done() for task in tasks):
        await asyncio.wait(tasks, timeout=5)
        done = sum(task.done() for task in tasks)
        progress(f"{what}: {fired}/{count} sent, {done}/{count} answered")
    for task in tasks:
        task.result()


async def bounded(count: int, concurrency: int, call: Callable[[int], Awaitable[None]]) -> float:
    """Run call(0..count-1) with at most `concurrency` in flight; the wall time it took."""
    queue = iter(range(count))

    async def lane() -> None:
        for i in queue:
            await call(i)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - started


async def post_burst(
    http: aiohttp.ClientSession, leads: LeadFactory, size: int, what: str, *, every: int
) -> tuple[list[Posted], float]:
    """`size` new leads, BURST_CONCURRENCY in flight; what each got, and the wall time."""
    bodies = [leads.next() for _ in range(size)]
    posted: list[Posted] = []

    async def post(i: int) -> None:
        posted.append(await post_lead(http, bodies[i]))
        if len(posted) % every == 0:
            progress(f"{what}: {len(posted)}/{size} answered")

    return posted, await bounded(size, BURST_CONCURRENCY, post)


# --- the measurements ---------------------------------------------------------------------


@dataclass
class SpeedToLead:
    latencies: list[float]
    response_times: list[float]
    after_response: list[float]
    failed: int
    lead_ids: list[uuid.UUID]


async def warm_up(http: aiohttp.ClientSession, leads: LeadFactory, touches: SentTouches) -> None:
    """A few leads first, so lazy connections and the sandbox's first imports are not measured."""
    posted = [await post_lead(http, leads.next()) for _ in range(WARMUP_LEADS)]
    ids = {p.lead_id for p in posted if p.lead_id is not None}
    if len(ids) != WARMUP_LEADS:
        raise RuntimeError("warm-up leads were refused; see the messages above")
    await wait_for_sends(touches, ids, "warm-up", SEND_TIMEOUT_S)


async def measure_speed_to_lead(
    http: aiohttp.ClientSession, leads: LeadFactory, touches: SentTouches
) -> SpeedToLead:
    progress(f"speed-to-lead: {SPEED_LEADS} leads at {RATE_PER_S:.0f}/s through the API")
    bodies = [leads.next() for _ in range(SPEED_LEADS)]
    posted: list[Posted | None] = [None] * SPEED_LEADS

    async def fire(i: int) -> None:
        posted[i] = await post_lead(http, bodies[i])

    await open_loop(SPEED_LEADS, fire, "speed-to-lead")
    ok = [p for p in posted if p is not None and p.lead_id is not None]
    sent = await wait_for_sends(
        touches, {p.lead_id for p in ok if p.lead_id}, "speed-to-lead", SEND_TIMEOUT_S
    )
    latencies, after_response = [], []
    for p in ok:
        assert p.lead_id is not None
        at = sent.get(p.lead_id)
        if at is not None:
            latencies.append(at.timestamp() - p.sent_wall)
            after_response.append(at.timestamp() - p.sent_wall - p.response_s)
    return SpeedToLead(
        latencies=latencies,
        response_times=[p.response_s for p in ok],
        after_response=after_response,
        failed=SPEED_LEADS - len(latencies),
        lead_ids=[p.lead_id for p in ok if p.lead_id is not None],
    )


@dataclass
class UnderReads:
    api_cpu_ms_per_read: float
    read_p95_s: float
    reads_failed: int
    speed: SpeedToLead
    read_p95_under_captures_s: float
    reads_under_captures_failed: int


async def measure_reads(
    stack: Stack,
    http: aiohttp.ClientSession,
    leads: LeadFactory,
    touches: SentTouches,
    readable: list[uuid.UUID],
) -> UnderReads:
    """The API's CPU per read with nothing else running, then speed-to-lead beside reads."""
    seconds = CPU_READS / READ_RATE_PER_S
    progress(f"reads: {CPU_READS} lead and timeline reads at {READ_RATE_PER_S:.0f}/s, alone")
    before = stack.cpu_seconds()["api"]
    alone = await read_load(http, readable, READ_RATE_PER_S, seconds)
    cpu_ms = 1000 * (stack.cpu_seconds()["api"] - before) / max(len(alone.response_times), 1)
    progress(f"reads: {cpu_ms:.1f} ms of API CPU per read")

    duration = SPEED_LEADS / RATE_PER_S
    progress(f"speed-to-lead under reads: {READ_RATE_PER_S:.0f} reads/s beside the captures")
    beside, speed = await asyncio.gather(
        read_load(http, readable, READ_RATE_PER_S, duration),
        measure_speed_to_lead(http, leads, touches),
    )
    return UnderReads(
        api_cpu_ms_per_read=cpu_ms,
        read_p95_s=percentile(alone.response_times, 95),
        reads_failed=alone.failed,
        speed=speed,
        read_p95_under_captures_s=percentile(beside.response_times, 95),
        reads_under_captures_failed=beside.failed,
    )


async def measure_big_burst(
    stack: Stack,
    http: aiohttp.ClientSession,
    leads: LeadFactory,
    touches: SentTouches,
    client: Client,
    size: int,
) -> dict[str, Any]:
    """A burst of `size` captures, its drain, and what the worker's workflow tasks did."""
    metrics_before = await asyncio.to_thread(worker_metrics, stack.worker_metrics_url)
    started_at = datetime.now(UTC)
    progress(f"big burst: {size} leads through the API, {BURST_CONCURRENCY} in flight")
    posted, wall = await post_burst(http, leads, size, "big burst", every=500)
    ok = [p.lead_id for p in posted if p.lead_id is not None]
    progress(f"big burst: {len(ok)}/{size} created in {wall:.1f} s; draining")
    sent = await wait_for_sends(touches, set(ok), "big burst drain", BIG_BURST_DRAIN_S)
    metrics_after = await asyncio.to_thread(worker_metrics, stack.worker_metrics_url)
    last = max((at.timestamp() for at in sent.values()), default=float("nan"))
    drain_window = last - started_at.timestamp()

    def quantile(name: str) -> tuple[float, int]:
        return histogram_quantile(0.95, metrics_before.get(name, {}), metrics_after.get(name, {}))

    task_p95, tasks = quantile(WFT_LATENCY)
    to_start_p95, _ = quantile(WFT_SCHEDULE_TO_START)
    progress("big burst: counting workflow task timeouts in the burst's histories")
    timeouts = await workflow_task_timeouts(client, started_at)
    return {
        "workflow_task_p95_s": task_p95,
        "workflow_task_timeouts": timeouts.total,
        "drain_welcomes_per_s": len(sent) / drain_window if sent else 0.0,
        "big_burst_leads": size,
        "big_burst_failed": size - len(ok),
        "big_burst_unsent": len(ok) - len(sent),
        "big_burst_api_per_s": len(ok) / wall,
        "big_burst_drain_s": last - (started_at.timestamp() + wall),
        "big_burst_workflow_tasks": tasks,
        "workflow_task_schedule_to_start_p95_s": to_start_p95,
        "workflow_task_timeouts_start_to_close": timeouts.start_to_close,
        "workflow_task_timeouts_sticky": timeouts.schedule_to_start,
        "big_burst_workflows_checked": timeouts.workflows,
    }


def _speed_figures(prefix: str, speed: SpeedToLead) -> dict[str, float]:
    return {
        f"{prefix}_p50_s": percentile(speed.latencies, 50),
        f"{prefix}_p95_s": percentile(speed.latencies, 95),
        f"{prefix}_max_s": max(speed.latencies, default=float("nan")),
    }


def _reads_figures(reads: UnderReads) -> dict[str, float]:
    return {
        **_speed_figures("speed_to_lead_under_reads", reads.speed),
        "api_cpu_ms_per_read": reads.api_cpu_ms_per_read,
        "speed_to_lead_under_reads_failed": reads.speed.failed,
        "read_p95_s": reads.read_p95_s,
        "read_under_captures_p95_s": reads.read_p95_under_captures_s,
        "reads_failed": reads.reads_failed + reads.reads_under_captures_failed,
    }


async def measure_floor(client: Client, run: str) -> list[float]:
    task_queue = f"bench-floor-{run}"
    activities = FloorActivities()
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[FloorWorkflow],
        activities=[activities.started_at],
    )
    async with worker:
        for i in range(3):  # warm-up: the sandbox's first import of the workflow module
            await client.execute_workflow(
                FloorWorkflow.run, id=f"floor-warm-{run}-{i}", task_queue=task_queue
            )
        progress(f"floor: {FLOOR_STARTS} bare workflow starts at {RATE_PER_S:.0f}/s")
        called: dict[str, float] = {}

        async def fire(i: int) -> None:
            workflow_id = f"floor-{run}-{i}"
            called[workflow_id] = time.time()
            await client.start_workflow(FloorWorkflow.run, id=workflow_id, task_queue=task_queue)

        await open_loop(FLOOR_STARTS, fire, "floor")
        for _ in range(int(SEND_TIMEOUT_S / POLL_S)):
            if called.keys() <= activities.started.keys():
                break
            await asyncio.sleep(POLL_S)
    return [activities.started[w] - t for w, t in called.items() if w in activities.started]


@dataclass
class Ingest:
    api_per_s: float
    api_failed: int
    api_response_p95_s: float
    drain_s: float
    sdk_per_s: float
    cpu_ms_per_lead: dict[str, float]

    @property
    def ratio(self) -> float:
        return self.api_per_s / self.sdk_per_s


def _own_cpu_seconds() -> float:
    used = os.times()
    return used.user + used.system


async def measure_ingest(
    stack: Stack,
    http: aiohttp.ClientSession,
    leads: LeadFactory,
    touches: SentTouches,
    client: Client,
) -> Ingest:
    run = uuid.uuid4().hex[:8]
    progress(f"ingest: burst of {BURST} leads through the API, {BURST_CONCURRENCY} in flight")
    cpu_before = stack.cpu_seconds()
    generator_before = _own_cpu_seconds()
    posted, api_wall = await post_burst(http, leads, BURST, "ingest (API)", every=100)
    generator_ms = 1000 * (_own_cpu_seconds() - generator_before) / BURST
    ok = [p for p in posted if p.lead_id is not None]
    progress(f"ingest (API): {len(ok)}/{BURST} created in {api_wall:.2f} s")

    # Let the worker finish the burst's first sends so it does not share the CPU with the
    # bare-SDK burst below (and report how long that took).
    drain_started = time.perf_counter()
    await wait_for_sends(touches, {p.lead_id for p in ok if p.lead_id}, "burst drain", 180)
    drain_s = time.perf_counter() - drain_started
    cpu_after = stack.cpu_seconds()
    cpu_ms_per_lead = {
        name: 1000 * (cpu_after[name] - cpu_before[name]) / max(len(ok), 1)
        for name in cpu_after.keys() & cpu_before.keys()
    }
    cpu_ms_per_lead["load_generator"] = generator_ms  # the burst only, not the drain

    # The bare-SDK burst runs with NO worker on its task queue: it measures what the server
    # and the SDK client take to accept a start and a signal, the same two things the API's
    # signal-with-start asks of them. Nothing executes the waiting workflows; the dev server
    # and its temporary database are thrown away at the end.
    task_queue = f"bench-ingest-{run}"
    progress(f"ingest: {BURST} bare-SDK start_workflow + signal, {BURST_CONCURRENCY} in flight")

    async def start_and_signal(i: int) -> None:
        handle = await client.start_workflow(
            SignalWaitWorkflow.run, id=f"ingest-{run}-{i}", task_queue=task_queue
        )
        await handle.signal(SignalWaitWorkflow.poke, "lead")

    sdk_wall = await bounded(BURST, BURST_CONCURRENCY, start_and_signal)
    progress(f"ingest (SDK): {BURST} started and signalled in {sdk_wall:.2f} s")
    return Ingest(
        api_per_s=len(ok) / api_wall,
        api_failed=BURST - len(ok),
        api_response_p95_s=percentile([p.response_s for p in ok], 95),
        drain_s=drain_s,
        sdk_per_s=BURST / sdk_wall,
        cpu_ms_per_lead=cpu_ms_per_lead,
    )


def _http(stack: Stack) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=stack.api_base,
        headers={"Authorization": f"Bearer {stack.admin_key}"},
        connector=aiohttp.TCPConnector(limit=1000),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def measure(
    stack: Stack, load_before: float, *, only_stress: bool = False, burst: int = BIG_BURST
) -> dict[str, Any]:
    """Every part but rescoring; `only_stress`: the warm-up, speed-to-lead, reads and the
    big burst alone (no floor, ingest rounds or hot events)."""
    run = uuid.uuid4().hex[:8]
    leads = LeadFactory(stack.store_id)
    touches = SentTouches(stack.db_path)
    client = await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)
    results: dict[str, Any] = {}
    try:
        async with _http(stack) as http:
            progress(f"warm-up: {WARMUP_LEADS} leads")
            await warm_up(http, leads, touches)
            speed = await measure_speed_to_lead(http, leads, touches)
            stack.check_running()
            reads = await measure_reads(stack, http, leads, touches, speed.lead_ids)
            stack.check_running()
            if not only_stress:
                results |= await _floor_ingest_and_hot(stack, http, leads, touches, client, run)
            big = await measure_big_burst(stack, http, leads, touches, client, burst)
            stack.check_running()
    finally:
        touches.dispose()

    return {
        **_speed_figures("speed_to_lead", speed),
        **results,
        **_reads_figures(reads),
        **big,
        # Diagnostics: where speed-to-lead goes, and what the measurements lost.
        "speed_to_lead_failed": speed.failed,
        "api_response_p50_s": percentile(speed.response_times, 50),
        "api_response_p95_s": percentile(speed.response_times, 95),
        "response_to_sent_p50_s": percentile(speed.after_response, 50),
        "response_to_sent_p95_s": percentile(speed.after_response, 95),
        **_machine(load_before),
    }


def _machine(load_before: float) -> dict[str, Any]:
    """Other work on the machine skews every figure: the 1-minute load before and after."""
    return {
        "loadavg_1m_before": load_before,
        "loadavg_1m_after": os.getloadavg()[0],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": os.cpu_count() or 0,
    }


async def _floor_ingest_and_hot(
    stack: Stack,
    http: aiohttp.ClientSession,
    leads: LeadFactory,
    touches: SentTouches,
    client: Client,
    run: str,
) -> dict[str, Any]:
    floor = await measure_floor(client, run)
    stack.check_running()
    rounds = []
    for number in range(1, INGEST_ROUNDS + 1):
        rounds.append(await measure_ingest(stack, http, leads, touches, client))
        stack.check_running()
        progress(f"ingest round {number}/{INGEST_ROUNDS}: ratio {rounds[-1].ratio:.2f}")
    ingest = sorted(rounds, key=lambda r: r.ratio)[len(rounds) // 2]
    progress(f"hot event → task: {HOT_EVENTS} hard-trigger events through the API")
    hot = await measure_hot_event_to_task(
        stack.api_base, stack.admin_key, str(stack.store_id), stack.database_url, HOT_EVENTS
    )
    stack.check_running()
    return {
        "speed_to_lead_floor_p95_s": percentile(floor, 95),
        "api_leads_per_s": ingest.api_per_s,
        "bare_sdk_per_s": ingest.sdk_per_s,
        "ingest_ratio": ingest.ratio,
        **{f"ingest_ratio_round{n}": r.ratio for n, r in enumerate(rounds, start=1)},
        **hot,
        "speed_to_lead_floor_p50_s": percentile(floor, 50),
        "floor_failed": FLOOR_STARTS - len(floor),
        "burst_api_response_p95_s": ingest.api_response_p95_s,
        "burst_api_failed": ingest.api_failed,
        "burst_drain_s": ingest.drain_s,
        **{f"burst_cpu_ms_per_lead_{name}": ms for name, ms in ingest.cpu_ms_per_lead.items()},
    }


# --- report ---------------------------------------------------------------------------------


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _target(value: float, bound: float, *, at_most: bool = True, places: int = 1) -> str:
    met = value <= bound if at_most else value >= bound
    return f"{'<=' if at_most else '>='} {bound:.{places}f}  ({_verdict(met)})"


def report(results: dict[str, Any], output: Path) -> None:
    """Print what `results` holds (`--only stress` has no ingest or rescoring figures)."""
    targets: dict[str, Callable[[float], str]] = {
        "speed_to_lead_p95_s": lambda v: _target(v, TARGET_P95_S),
        "speed_to_lead_under_reads_p95_s": lambda v: _target(v, TARGET_P95_S),
        "ingest_ratio": lambda v: _target(v, TARGET_RATIO, at_most=False),
        "workflow_task_p95_s": lambda v: _target(v, TARGET_WFT_P95_S),
        "workflow_task_timeouts": lambda v: _target(v, TARGET_TIMEOUTS, places=0),
        "rescore_100k_s": lambda v: _target(v, TARGET_RESCORE_S, places=0),
        "season_sim_wall_s": lambda v: _target(v, SEASON_TARGET_S, places=0),
        "year_after_opt_out": lambda v: _target(v, 0, places=0),
        "year_over_cap": lambda v: _target(v, 0, places=0),
        "year_in_quiet_hours": lambda v: _target(v, 0, places=0),
        "dashboard_p95_ms": lambda v: _target(v, TARGET_INSIGHT_MS, places=0),
        "question_p95_ms": lambda v: _target(v, TARGET_INSIGHT_MS, places=0),
        "csv_import_100k_s": lambda v: _target(v, TARGET_CSV_IMPORT_S, places=0),
    }
    metrics = [
        "speed_to_lead_p50_s",
        "speed_to_lead_p95_s",
        "speed_to_lead_max_s",
        "speed_to_lead_floor_p95_s",
        "api_leads_per_s",
        "bare_sdk_per_s",
        "ingest_ratio",
        "hot_event_to_task_p50_s",
        "hot_event_to_task_p95_s",
        "speed_to_lead_under_reads_p95_s",
        "api_cpu_ms_per_read",
        "workflow_task_p95_s",
        "workflow_task_timeouts",
        "drain_welcomes_per_s",
        "rescore_100k_s",
        "season_sim_wall_s",
        "season_sim_journeys_per_s",
        "year_messages_per_lead_month",
        "year_messages_busiest_lead_month",
        "year_after_opt_out",
        "year_over_cap",
        "year_in_quiet_hours",
        "dashboard_p95_ms",
        "question_p95_ms",
        "csv_import_100k_s",
    ]
    diagnostics = [
        ("csv_import_rows_per_s", "sale lines a second, CSV import"),
        ("csv_import_cpu_s", "CPU seconds the import used"),
        ("csv_import_sales", "sales those lines make"),
        ("csv_import_effects_told", "Temporal calls (history: none expected)"),
        ("api_response_p50_s", "HTTP 201 time, speed-to-lead run"),
        ("api_response_p95_s", ""),
        ("response_to_sent_p50_s", "201 → sent_at"),
        ("response_to_sent_p95_s", ""),
        ("speed_to_lead_floor_p50_s", ""),
        ("burst_api_response_p95_s", "HTTP 201 time, 32 in flight"),
        ("burst_drain_s", "burst's last first-message after the burst"),
        ("burst_cpu_ms_per_lead_api", "CPU per burst lead, burst + drain"),
        ("burst_cpu_ms_per_lead_worker", ""),
        ("burst_cpu_ms_per_lead_temporal", "dev server"),
        ("burst_cpu_ms_per_lead_load_generator", "this process, during the API burst"),
        *((f"ingest_ratio_round{n}", "") for n in range(1, INGEST_ROUNDS + 1)),
        ("speed_to_lead_under_reads_p50_s", "200 leads at 10/s beside 50 reads/s"),
        ("speed_to_lead_under_reads_max_s", ""),
        ("read_p95_s", "lead or timeline read, reads alone"),
        ("read_under_captures_p95_s", "the same, beside the captures"),
        ("big_burst_leads", "captures in the big burst"),
        ("big_burst_api_per_s", ""),
        ("big_burst_drain_s", "its last welcome after its last 201"),
        ("big_burst_workflow_tasks", "workflow tasks the SDK timed"),
        ("workflow_task_schedule_to_start_p95_s", "SDK's histogram"),
        ("workflow_task_timeouts_start_to_close", "done again"),
        ("workflow_task_timeouts_sticky", "moved off the sticky queue"),
        ("big_burst_workflows_checked", "histories read for timeouts"),
        ("season_floor_min_wall_s", "season's least wall time here: floor CPU / cores"),
        ("season_floor_wall_s", "bare journeys of the engagement shape, dev server"),
        ("season_floor_leads", "how many"),
        ("season_floor_cpu_ms_per_lead", "their CPU per lead, worker + server"),
        ("season_floor_worker_cpu_ms_per_lead", "bare Python worker"),
        ("season_floor_server_cpu_ms_per_lead", "dev server"),
        ("season_sim_stalled_on_day", "the time-skipping server's clock stopped"),
        ("season_sim_stalled_after_s", ""),
        ("year_sim_stalled_on_day", "the year's clock stopped"),
        ("year_sim_stalled_after_s", ""),
        ("season_sim_journeys", "journeys the engagement season ran"),
        ("season_sim_messages", "messages that went out in it"),
        ("season_sim_still_running", "journeys still running at its end"),
        ("season_sim_clock_s", "wall time waiting for the server's clock to jump"),
        ("season_sim_captures_s", "capturing the leads through the API"),
        ("season_sim_events_s", "visits, views, bookings, purchases, opt-outs"),
        ("season_sim_tasks_s", "associates closing tasks"),
        ("season_sim_locks_s", "finding leaked time-skipping locks (in clock)"),
        ("season_sim_locks_given_back", "locks the test server leaked, given back"),
        ("season_sim_idle_unlocks", "clock held with nothing in flight, unlocked"),
        ("year_sim_wall_s", "the year's wall time"),
        ("year_messages", "messages that went out in the year"),
        ("year_campaign_previewed", "the Diwali campaign's audience in its preview"),
        ("year_campaign_enrolled", "and the leads it enrolled"),
        ("year_sim_clock_s", "the year's wall time waiting for the clock"),
        ("year_locks_given_back", "locks the test server leaked, given back"),
        ("year_idle_unlocks", "clock held with nothing in flight, unlocked"),
        ("question_p50_ms", "plain-words question, median"),
        ("insight_seed_s", "writing the insight bench's rows (Core executemany)"),
        ("insight_messages", "messages seeded for the insight bench"),
    ]
    width = max(len(name) for name in [*metrics, *(d[0] for d in diagnostics)]) + 2
    print()
    print(f"{'metric':<{width}}{'value':>10}   target")
    print("-" * (width + 35))
    for name in metrics:
        if name in results:
            value = float(results[name])
            target = targets[name](value) if name in targets else ""
            print(f"{name:<{width}}{value:>10.3f}   {target}")
    print()
    print("diagnostics (no targets)")
    for name, note in diagnostics:
        if name in results:
            print(f"{name:<{width}}{results[name]:>10.3f}   {note}")
    lost_keys = (
        "speed_to_lead_failed", "floor_failed", "burst_api_failed",
        "speed_to_lead_under_reads_failed", "reads_failed", "big_burst_failed",
        "big_burst_unsent",
    )  # fmt: skip
    lost = {k: results[k] for k in lost_keys if results.get(k)}
    if lost:
        print(f"lost samples: {lost}")
    print(
        f"\nmachine: {results['machine']} CPUs; 1-min load {results['loadavg_1m_before']:.2f} "
        f"before the bench, {results['loadavg_1m_after']:.2f} after; "
        f"measured at {results['measured_at']}"
    )
    print(f"written to {output.relative_to(ROOT)}")


def main() -> int:
    # A launcher started in the background inherits SIGINT ignored; stop cleanly on either.
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    parser = argparse.ArgumentParser(description="Facet's benchmark (see bench/bench.py)")
    parser.add_argument(
        "--only",
        choices=["stress", "season", "insight", "csv_import"],
        help="stress: only reads and the big burst; season: only the season simulation; "
        "insight: only the dashboards and questions; csv_import: only the CSV import",
    )
    parser.add_argument("--burst", type=int, default=BIG_BURST, help="leads in the big burst")
    parser.add_argument(
        "--season-leads", type=int, default=1000, help="leads in each season simulation run"
    )
    arguments = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="facet-bench-"))
    stack: Stack | None = None
    ok = False
    try:
        load_before = os.getloadavg()[0]
        if arguments.only == "season":
            results = {**_machine(load_before), **simulate(arguments.season_leads)}
            output = RESULTS.with_name("season.json")
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(results, indent=2) + "\n")
            report(results, output)
            ok = True
            return 0
        if arguments.only == "insight":
            progress("insight: seeding 100,000 leads and 1,000,000 messages, then timing")
            results = {**measure_insight(), **_machine(load_before)}
            output = RESULTS.with_name("insight.json")
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(results, indent=2) + "\n")
            report(results, output)
            print(f"per panel (p95 ms): {results['insight_panels']}")
            ok = True
            return 0
        if arguments.only == "csv_import":
            progress(f"importing {CSV_IMPORT_LINES:,} sale lines (writing the file is not timed)")
            results = {**measure_csv_import(CSV_IMPORT_LINES), **_machine(load_before)}
            output = RESULTS.with_name("csv_import.json")
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(results, indent=2) + "\n")
            report(results, output)
            ok = True
            return 0
        stack = bring_up(tmp)
        if arguments.only == "stress":
            results = asyncio.run(
                measure(stack, load_before, only_stress=True, burst=arguments.burst)
            )
            output = RESULTS.with_name("stress.json")  # latest.json stays the whole bench's
        else:
            results = asyncio.run(measure(stack, load_before))
            stack.stop()  # the rescoring bench runs alone, on a database of its own
            progress(f"rescoring {RESCORE_LEADS:,} leads (seeding them first is not timed)")
            results.update(measure_rescore(RESCORE_LEADS))
            progress(f"importing {CSV_IMPORT_LINES:,} sale lines (writing the file is not timed)")
            results.update(measure_csv_import(CSV_IMPORT_LINES))
            progress("insight: 100,000 leads and 1,000,000 messages (seeding is not timed)")
            results.update(measure_insight())
            progress("the season simulation (bench/season.py)")
            results.update(simulate(arguments.season_leads))
            output = RESULTS
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2) + "\n")
        report(results, output)
        ok = True
    except KeyboardInterrupt:
        progress("interrupted")
    except Exception as error:
        progress(f"bench failed: {type(error).__name__}: {error}")
        if stack is not None:
            for name in ("worker", "api", "temporal"):
                tail = stack.log_tail(name)
                if tail:
                    print(f"--- last lines of {name}.log ---\n{tail}", flush=True)
    finally:
        if stack is not None:
            stack.stop()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            progress(f"kept {tmp} for its logs")
    return 0 if ok else 1


if __name__ == "__main__":
    code = main()
    # Skip interpreter teardown: the SDK can abort there (sdk-python #300, TEMPORAL_NOTES.md).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
