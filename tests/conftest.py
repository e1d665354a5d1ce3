"""Fixtures shared by the whole suite: real databases, real Temporal servers, the real app.

- `database`: a migrated database, once on SQLite and once more on PostgreSQL when
  TEST_DATABASE_URL is set (CI sets it). Tests isolate by creating their own store, so no
  two tests share ids and nothing needs rolling back.
- `time_skipping`: Temporal's time-skipping test server (a 7-day journey runs in moments).
- `dev_server`: Temporal's dev server (real time), for restarts, continue-as-new, visibility.
- `worker_for`: the worker as `worker.py` builds it, on a task queue of the test's own.

`make test` runs the suite on two pytest-xdist workers (`-n 2`). Each worker is a session of
its own: its own SQLite file and PostgreSQL database, its own Temporal servers on free ports,
its own browser stack. A fixture that starts something must keep to that: no fixed port, file
or database name shared between workers. Browser tests still run last in each worker
(tests/browser/conftest.py), since xdist hands each worker its tests in collection order.
"""

from __future__ import annotations

import asyncio
import os
import sys
import sysconfig
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkerTuner

from api.app import create_app
from api.auth import issue_api_key
from core.settings import Settings
from core.vocabulary import ApiRole
from db.migrate import migrate
from db.models import Staff, Store
from db.session import Database
from providers import registry
from sequences.vocabulary import StaffRole
from tests.standin import StandIn
from worker import build_worker

SCRIPTS = Path(sysconfig.get_path("scripts"))
STARTUP = timedelta(seconds=60)


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> Iterator[None]:
    """Work around the SDK's exit crash (sdk-python #300): a passing run exits 0 at once."""
    result = yield
    if result == 0:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return result


# --- databases ---------------------------------------------------------------------------


def _backends() -> list[Any]:
    backends = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("TEST_DATABASE_URL"):
        backends.append(pytest.param("postgres", id="postgres"))
    return backends


def _fresh_postgres_database() -> tuple[str, Callable[[], None]]:
    """A new, empty database on the TEST_DATABASE_URL server, dropped after the session."""
    server = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    name = f"facet_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session", params=_backends())
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of a freshly migrated database with the sequence library published."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'facet.db'}"
        drop: Callable[[], None] = lambda: None  # noqa: E731
    else:
        url, drop = _fresh_postgres_database()
    migrate(url)
    yield url
    drop()


@pytest.fixture(scope="session")
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


def new_store(session: Any) -> Store:
    """A store of the caller's own, in India, with one staff member of each role."""
    store = Store(
        name=f"Test Jewellers {uuid.uuid4().hex[:8]}",
        timezone="Asia/Kolkata",
        country="IN",
        currency="INR",
        locale="en",
        phone="+91 80 4000 0000",
        address="12 MG Road, Bengaluru",
    )
    session.add(store)
    session.flush()
    for role, name in [
        (StaffRole.ASSOCIATE, "Priya"),
        (StaffRole.GEMOLOGIST, "Arjun"),
        (StaffRole.DESIGNER, "Meera"),
        (StaffRole.MANAGER, "Rahul"),
    ]:
        session.add(Staff(store_id=store.id, name=name, role=role, languages=["en"]))
    return store


@pytest.fixture
def make_store(database: Database) -> Callable[[], Store]:
    """Make a store of this test's own, in India, with one staff member of each role."""
    return lambda: database.run(new_store)


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Store:
    return make_store()


@pytest.fixture
def api_key(database: Database) -> Callable[..., str]:
    """Issue a key: `api_key(ApiRole.POS)` or `api_key(ApiRole.ASSOCIATE, store_id=...)`."""

    def issue(role: ApiRole, *, store_id: uuid.UUID | None = None) -> str:
        return issue_api_key(database, name=f"test-{role}", role=role, store_id=store_id)

    return issue


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A local stand-in for SendGrid's and Twilio's APIs, recording every request."""
    server = StandIn().start()
    yield server
    server.stop()


# --- Temporal ---------------------------------------------------------------------------


@pytest.fixture
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """One server per test: its clock is global, and a test must not inherit another's time."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(SCRIPTS / "temporal-test-server"),
        test_server_startup_timeout=STARTUP,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(SCRIPTS / "temporal"),
        dev_server_startup_timeout=STARTUP,
        dev_server_extra_args=[
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=60",
        ],
    )
    await namespace_ready(env.client)
    yield env
    await env.shutdown()


async def namespace_ready(client: Client) -> None:
    """Wait until a new dev server serves its namespace. It answers before its frontend has
    the namespace cached: on a busy machine the first request could get "Namespace default
    is not found"."""
    for _ in range(600):
        try:
            await client.count_workflows()
            return
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
        await asyncio.sleep(0.05)
    raise AssertionError(f"the dev server never served namespace {client.namespace!r}")


@pytest.fixture(scope="session")
def activity_executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=16) as executor:
        yield executor


@pytest.fixture
def worker_for(
    database: Database, activity_executor: ThreadPoolExecutor
) -> Callable[[Client], Any]:
    """`async with worker_for(client) as task_queue:` runs Facet's worker on its own queue.

    It sends through the outbox unless given `settings` naming providers (the stand-in's),
    with fixed-size slots unless given a `tuner`;
    keyword overrides adjust the test settings (e.g. `whatsapp_content_sids=`).
    """

    @asynccontextmanager
    async def running(
        client: Client,
        settings: Settings | None = None,
        tuner: WorkerTuner | None = None,
        **overrides: Any,
    ) -> AsyncIterator[str]:
        task_queue = f"facet-test-{uuid.uuid4().hex[:8]}"
        worker: Worker = build_worker(
            client,
            task_queue=task_queue,
            database=database,
            providers=registry.configured(settings) if settings else registry.outbox_only(),
            executor=activity_executor,
            settings=settings or test_settings(database.url, task_queue, **overrides),
            tuner=tuner,
        )
        async with worker:
            yield task_queue

    return running


def test_settings(database_url: str, task_queue: str, **overrides: Any) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        temporal_task_queue=task_queue,
        secret_key="test-secret-that-is-not-a-placeholder",
        **overrides,
    )


@asynccontextmanager
async def api_client(
    database: Database, client: Client, task_queue: str, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app (create_app) over httpx's ASGI transport, talking to a real server."""
    app = create_app(
        test_settings(database.url, task_queue, **settings), database=database, temporal=client
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://facet.test") as http:
        yield http


def bearer(key: str) -> dict[str, str]:
    """The Authorization header for an API key."""
    return {"Authorization": f"Bearer {key}"}
