"""The worker's composition root: builds the database, providers and activities, then runs.

    python worker.py

SIGINT/SIGTERM stop polling for new work and give in-flight activities
`WORKER_GRACEFUL_SHUTDOWN_SECONDS` to finish, so a deploy never cuts a send in half.
"""

from __future__ import annotations

import asyncio
import compileall
import logging
import os
import signal
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    FixedSizeSlotSupplier,
    ResourceBasedSlotConfig,
    ResourceBasedSlotSupplier,
    ResourceBasedTunerConfig,
    Worker,
    WorkerTuner,
)

from activities.campaigns import CampaignActivities
from activities.channel_check import ChannelCheckActivities
from activities.journey import JourneyActivities
from activities.messaging import MessagingActivities
from activities.scoring import ScoringActivities
from activities.tasks import TaskActivities
from activities.valigara import ValigaraActivities
from activities.weekly_report import WeeklyReportActivities
from connectors.valigara.client import ValigaraClient
from core.logging import configure_logging
from core.settings import PROJECT_ROOT, Settings, get_settings
from core.temporal import connect_temporal
from db.repositories import StoreRepository
from db.session import Database
from domain.notices import TaskLinks
from domain.reference import Reference
from domain.scoring import qualification_config
from providers import registry
from providers.base import Registry
from qualification.config import QualificationConfig
from workflows import handles
from workflows.campaign import CampaignWorkflow
from workflows.channel_check import ChannelCheck
from workflows.escalation import EscalationTask
from workflows.journey import NurtureJourney
from workflows.occasion import OccasionCountdown
from workflows.qualification import ColdLeadSweep, NightlyQualification, QualifyLead
from workflows.schedules import ensure_schedules, ensure_valigara_catalogue, ensure_weekly_reports
from workflows.valigara import ValigaraCataloguePull, ValigaraSold
from workflows.weekly_report import WeeklyReport

log = logging.getLogger("facet.worker")

WORKFLOWS = [
    NurtureJourney,
    OccasionCountdown,
    QualifyLead,
    EscalationTask,
    NightlyQualification,
    ColdLeadSweep,
    ChannelCheck,
    CampaignWorkflow,
    WeeklyReport,
    ValigaraSold,
    ValigaraCataloguePull,
]
ACTIVITY_THREADS = 16
# What the worker always takes on, however busy the machine is (see worker_tuner).
FLOOR_SLOTS = 1
# Workflow tasks and local activities never wait on the machine's CPU (see worker_tuner).
# A journey's first workflow task holds its slot while its local activity (the lead's facts)
# runs, so there are as many local activity slots as workflow task slots.
WORKFLOW_TASK_SLOTS = 8
LOCAL_ACTIVITY_SLOTS = WORKFLOW_TASK_SLOTS
# Activities and local activities run on one thread pool: room for both at once.
EXECUTOR_THREADS = ACTIVITY_THREADS + LOCAL_ACTIVITY_SLOTS
# The SDK's workflow task latencies, in seconds: its default buckets stop at one second,
# the very figure a workflow task must stay well within.
LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 8, 10, 20, 60]
LATENCY_METRICS = (
    "workflow_task_execution_latency",
    "workflow_task_schedule_to_start_latency",
    "activity_schedule_to_start_latency",
    "activity_execution_latency",
    "local_activity_total_execution_latency",
)
# The SDK's advice: leave a fifth of the memory, since a workflow's needs are not known ahead.
TARGET_MEMORY = 0.8
# First-party packages the worker imports (compile_bytecode).
PACKAGES = (
    "workflows", "activities", "sequences", "qualification", "core", "db", "providers", "domain",
    "insight", "connectors",
)  # fmt: skip


def build_worker(
    client: Client,
    *,
    task_queue: str,
    database: Database,
    providers: Registry,
    executor: ThreadPoolExecutor,
    graceful_shutdown: timedelta = timedelta(seconds=30),
    settings: Settings | None = None,
    qualification: QualificationConfig | None = None,
    tuner: WorkerTuner | None = None,
    max_cached_workflows: int = 1000,
) -> Worker:
    """The Worker with every Facet workflow and activity registered; tests use it too.

    Without a `tuner` it runs up to ACTIVITY_THREADS activities at once, whatever the load.
    """
    qualification = qualification or QualificationConfig()
    settings = settings or get_settings()
    reference = Reference()  # this worker's memory of its database's rarely-changing rows
    messaging = MessagingActivities(database, providers, settings)
    journeys = JourneyActivities(database, reference)
    checks = ChannelCheckActivities(database, providers)
    campaigns = CampaignActivities(
        database,
        reference,
        handles.journey_starter(client, task_queue),
        handles.journey_ender(client),
    )
    reports = WeeklyReportActivities(database, providers)
    valigara = ValigaraActivities(
        database,
        valigara_client(settings),
        sold_action=settings.valigara_sold_action,
        details_action=settings.valigara_details_action,
    )
    scoring = ScoringActivities(database, reference, qualification)
    tasks = TaskActivities(
        database,
        providers,
        qualification,
        handles.task_canceller(client),
        TaskLinks(settings.secret_key.get_secret_value(), settings.public_base_url),
    )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            messaging.send_message,
            messaging.abandon_send,
            journeys.lead_facts,
            journeys.prepare_enrollment,
            journeys.finish_enrollment,
            scoring.qualify_lead,
            scoring.rescore_leads,
            scoring.list_stores,
            scoring.refit_model,
            tasks.open_task,
            tasks.reassign_task,
            tasks.notify_assignee,
            tasks.abandon_notice,
            tasks.find_cold_leads,
            tasks.cancel_escalations,
            checks.send_channel_check,
            campaigns.enroll_campaign_batch,
            campaigns.finish_campaign,
            campaigns.end_campaign_journeys,
            reports.send_weekly_report,
            valigara.mark_sold,
            valigara.pull_catalogue,
        ],
        activity_executor=executor,
        graceful_shutdown_timeout=graceful_shutdown,
        max_cached_workflows=max_cached_workflows,
        **({"tuner": tuner} if tuner else {"max_concurrent_activities": ACTIVITY_THREADS}),
    )


def valigara_client(settings: Settings) -> Callable[[], ValigaraClient] | None:
    """The store's Valigara account, one client (and connection pool) for every activity;
    None when VALIGARA_ACCESS_KEY is unset."""
    if settings.valigara_access_key is None:
        return None
    client = ValigaraClient(
        settings.valigara_base_url,
        settings.valigara_access_key.get_secret_value(),
        http=httpx.Client(timeout=settings.provider_timeout_seconds),
        waits=settings.valigara_rate_limit_waits,
    )
    return lambda: client


def valigara_branch(settings: Settings, database: Database) -> uuid.UUID | None:
    """The branch Valigara's catalogue is pulled into: VALIGARA_STORE_ID, else the only
    branch; None when Valigara is not configured or the branch cannot be told."""
    if not settings.valigara_configured:
        return None
    stores = database.read(lambda s: [store.id for store in StoreRepository(s).every()])
    if settings.valigara_store_id is not None:
        if settings.valigara_store_id in stores:
            return settings.valigara_store_id
        log.error(
            "VALIGARA_STORE_ID %s is no branch: the catalogue is not pulled",
            settings.valigara_store_id,
        )
        return None
    if len(stores) == 1:
        return stores[0]
    log.error(
        "Valigara is configured but VALIGARA_STORE_ID is not, and there are %d branches: "
        "the catalogue is not pulled",
        len(stores),
    )
    return None


async def ensure_upkeep(
    client: Client, settings: Settings, database: Database, prefix: str = "facet"
) -> None:
    """The schedules this deployment keeps (CREATE_SCHEDULES): nightly qualification and the
    going-cold sweep, each branch's weekly report, and Valigara's catalogue pull when it is
    configured (removed when it is not)."""
    task_queue = settings.temporal_task_queue
    await ensure_schedules(client, task_queue, prefix)
    branches = database.read(
        lambda s: [(store.id, store.timezone) for store in StoreRepository(s).every()]
    )
    await ensure_weekly_reports(client, task_queue, branches, prefix)
    every = timedelta(minutes=settings.valigara_pull_every_minutes)
    await ensure_valigara_catalogue(
        client, task_queue, valigara_branch(settings, database), every, prefix
    )


def worker_tuner(target_cpu: float) -> WorkerTuner:
    """Intake first, without starving a journey's workflow tasks.

    On the embedded stack the API, the Temporal server and the worker share the CPUs, and a
    burst of captures starts a journey per lead. Left alone, the worker takes the CPU and
    the server's attention those captures need, and intake slows down. So activities (the
    sends and the bookkeeping, most of the worker's I/O) hold back: the worker always runs
    FLOOR_SLOTS of them, and more only while the machine's CPU is under `target_cpu` (and
    memory under TARGET_MEMORY), within the thread pool's size.

    Workflow tasks and local activities have fixed slots instead. The resource-based
    supplier reads the whole machine's CPU, which on 2 cores the API and the server keep
    above any target, so it handed workflow tasks their minimum: a burst's workflow tasks
    queued behind each other for seconds, passed the 10 s workflow task timeout and were
    done again. A workflow task is short, holds no thread while it waits, and must finish
    well within a second; what it starts (an activity) is what waits its turn.
    """
    resources = ResourceBasedTunerConfig(
        target_memory_usage=TARGET_MEMORY, target_cpu_usage=target_cpu
    )
    threads = ResourceBasedSlotConfig(minimum_slots=FLOOR_SLOTS, maximum_slots=ACTIVITY_THREADS)
    return WorkerTuner.create_composite(
        workflow_supplier=FixedSizeSlotSupplier(WORKFLOW_TASK_SLOTS),
        activity_supplier=ResourceBasedSlotSupplier(threads, resources),
        local_activity_supplier=FixedSizeSlotSupplier(LOCAL_ACTIVITY_SLOTS),
        nexus_supplier=FixedSizeSlotSupplier(FLOOR_SLOTS),
    )


def install_metrics(bind_address: str) -> None:
    """Serve the SDK's own metrics (Prometheus text at http://<bind_address>/metrics):
    workflow task and activity latencies, sticky cache misses, slots in use. `make bench`
    reads workflow task durations there."""
    prometheus = PrometheusConfig(
        bind_address=bind_address,
        durations_as_seconds=True,
        histogram_bucket_overrides={name: LATENCY_BUCKETS for name in LATENCY_METRICS},
    )
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(metrics=prometheus)))


def compile_bytecode() -> None:
    """Write .pyc files for Facet's packages, where they are missing or stale.

    The workflow sandbox re-imports the workflow modules for every workflow run it starts or
    replays. Where Python does not write bytecode (PYTHONDONTWRITEBYTECODE, which some machines
    and most images set) each of those imports compiled the source again: about a tenth of
    the worker's CPU in a burst of new leads. Where the tree is read-only this does nothing
    (the image compiles when it is built).
    """
    for package in PACKAGES:
        compileall.compile_dir(PROJECT_ROOT / package, quiet=2)


async def main() -> None:
    configure_logging()
    compile_bytecode()
    settings = get_settings()
    if settings.worker_metrics_address:
        install_metrics(settings.worker_metrics_address)  # before the client: it uses it
    database = Database(settings.database_url)
    client = await connect_temporal(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    with ThreadPoolExecutor(max_workers=EXECUTOR_THREADS) as executor:
        worker = build_worker(
            client,
            task_queue=settings.temporal_task_queue,
            database=database,
            providers=registry.configured(settings),
            executor=executor,
            settings=settings,
            graceful_shutdown=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
            qualification=qualification_config(settings),
            tuner=worker_tuner(settings.worker_target_cpu) if settings.worker_target_cpu else None,
            max_cached_workflows=settings.worker_max_cached_workflows,
        )
        if settings.create_schedules:
            await ensure_upkeep(client, settings, database)
        run = asyncio.create_task(worker.run())
        log.info("worker polling task queue %r", settings.temporal_task_queue)
        await asyncio.wait([run, asyncio.create_task(stop.wait())], return_when="FIRST_COMPLETED")
        if not run.done():
            log.info("shutting down: letting in-flight activities finish")
            await worker.shutdown()
        await run
    database.dispose()
    log.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
    # Everything is shut down by now. Leave without running interpreter teardown, where the
    # Temporal SDK can abort with PyGILState_Release (sdk-python #300, TEMPORAL_NOTES.md).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
