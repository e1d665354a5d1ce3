"""The console over httpx: the real app (create_app) on the dev server's client.

Tasks here are opened through the domain without their EscalationTask, so a signal finds no
workflow and is, as for an ended task, nothing to tell; the browser tests run the worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from api.app import create_app
from tests.conftest import test_settings


@pytest.fixture
def console(dev_server, database) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """`async with console() as http:` — a fresh client (its own cookies) on one app."""
    app = create_app(
        test_settings(database.url, "facet-console-test"),
        database=database,
        temporal=dev_server.client,
    )

    @asynccontextmanager
    async def client(base_url: str = "http://facet.test") -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            yield http

    return client
