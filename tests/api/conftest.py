"""The API tests' client: the real app on a worker of the test's own, on the dev server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import api_client


@pytest.fixture
async def http(dev_server, database, worker_for) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(database, dev_server.client, task_queue) as client,
    ):
        yield client
