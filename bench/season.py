"""The season simulation: months of a store's life on Temporal's time-skipping server.

Two runs, each on a fresh SQLite file, with the real API (over httpx's ASGI transport), the
real worker and the time-skipping test server, whose clock jumps ahead whenever nothing is in
flight. Leads are captured, visit, reply, buy and opt out through the API the doors use, and
associates close their tasks every day, so what is measured is Facet's own path, not a model
of it.

1. The engagement season: 1,000 engagement leads captured on day 0, then 80 simulated days of
   random events (store visits, product views, appointment bookings, purchases, opt-outs).
   Reported: the wall time (`season_sim_wall_s`, target <= 60 s) and journeys per second.
2. The year: 1,000 leads of mixed segments captured over a year, with purchases, repeat
   purchases months later, opt-outs and a Diwali campaign to every lead with email consent.
   Reported: messages per lead per month (mean and the busiest lead's busiest month); it
   checks, over every message that went out, that none reached a lead after a full opt-out,
   none broke the store's frequency caps and none left inside quiet hours.

`python bench/season.py [--leads N] [--only engagement|year]` runs it alone; `make bench` runs
it after the stack benchmarks.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402
from temporalio import workflow  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from api.app import create_app  # noqa: E402
from api.auth import issue_api_key  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.vocabulary import ApiRole, JourneyStatus  # noqa: E402
from db.migrate import migrate  # noqa: E402
from db.models import Enrollment, Lead, Store, Touch  # noqa: E402
from db.session import Database  # noqa: E402
from domain.messages import recipient_of  # noqa: E402
from scripts.demo import seed_demo  # noqa: E402
from sequences.calendar import next_festival  # noqa: E402
from sequences.send_window import is_within_window, local_day, zone_of  # noqa: E402
from sequences.vocabulary import Festival, Purpose  # noqa: E402

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
VERBOSE = False
STALL_S = 180  # a jump of the clock that takes longer than this has stalled
TICK_DAYS = 3  # associates close their tasks at least this often
SEASON_TARGET_S = 60.0  # the engagement season's wall time, the issue's target
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

    async def day(self, number: int) -> None:
        """Let the server's clock run to the start of simulated day `number`."""
        target = self.started + timedelta(days=number)
        await self.skip((target - await self.env.get_current_time()).total_seconds())

    async def skip(self, seconds: float) -> None:
        if seconds <= 0:
            return
        jump = self.env.client.execute_workflow(
            SeasonClock.run,
            seconds,
            id=f"season-clock-{uuid.uuid4().hex}",
            task_queue=self.clock_queue,
        )
        try:
            await asyncio.wait_for(jump, timeout=STALL_S)
        except TimeoutError:
            day = (await self.env.get_current_time() - self.started).days
            raise SeasonStalled(day) from None

    async def now(self) -> datetime:
        return await self.env.get_current_time()

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
        closed = 0
        for task in response.json()["tasks"]:
            done = await self.http.post(
                f"/v1/tasks/{task['id']}/complete",
                json={"outcome": "contacted"},
                headers={"Authorization": f"Bearer {self.manager_key}"},
            )
            closed += done.status_code == 200
        return closed


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
            )
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        await env.shutdown()
        database.dispose()
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
    for day in range(days):
        if day not in arrivals and day not in by_day and day % TICK_DAYS:
            continue  # nothing planned: let the clock run on to the next day that has
        await h.day(day)
        await _gathered([_capture(h, person) for person in arrivals.get(day, [])], concurrency=16)
        await _gathered(
            [act(h, p, what, n) for p, what, n in by_day.get(day, []) if p.lead_id], concurrency=16
        )
        await on_day(day)
        await h.close_tasks()
        if day % 10 == 0 or VERBOSE:
            progress(f"day {day}")


async def _capture(h: Harness, person: Person) -> None:
    created = await h.post("/v1/leads", capture_body(h.store_id, person), h.pos_key)
    person.lead_id = created["lead_id"]


async def _gathered(calls: list[Awaitable[None]], *, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Awaitable[None]) -> None:
        async with gate:
            await call

    await asyncio.gather(*(one(call) for call in calls))


async def wait_for_journeys(h: Harness, *, give_up_after_days: int) -> int:
    """Skip time until no journey runs (or the limit); the number still running."""
    active = select(Enrollment.id).where(Enrollment.status == JourneyStatus.ACTIVE)
    running = 0
    for extra in range(give_up_after_days):
        running = h.database.read(lambda s: len(s.scalars(active).all()))
        if running == 0:
            return 0
        await h.skip(86_400)
        if extra % 2 == 1:
            await h.close_tasks()
    return running


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

        await live_through(h, people, 80, on_day=nothing)
        still = await wait_for_journeys(h, give_up_after_days=30)
        wall = time.perf_counter() - began
        outcome = examine(h.database, h.store_id, h.started, people)
        journeys = h.database.read(lambda s: len(s.scalars(select(Enrollment.id)).all()))
    _check(outcome, "engagement season")
    return {
        "season_sim_wall_s": wall,
        "season_sim_journeys": journeys,
        "season_sim_journeys_per_s": journeys / wall,
        "season_sim_messages": outcome.messages,
        "season_sim_still_running": still,
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
    """Both runs (or `only` one); a run whose clock stalls reports the day it stopped on
    (`season_sim_stalled_on_day`, `year_sim_stalled_on_day`) instead of its figures."""
    results: dict[str, float] = {}
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
    parser.add_argument("--only", choices=["engagement", "year"])
    arguments = parser.parse_args()
    results = simulate(arguments.leads, arguments.only)
    for name, value in results.items():
        print(f"{name:<36}{value:>12.3f}")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
