"""The API tests' client: the real app on a worker of the test's own, on the dev server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import api_client, bearer


@pytest.fixture
async def http(dev_server, database, worker_for) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(database, dev_server.client, task_queue) as client,
    ):
        yield client


async def settled_touches(
    http: httpx.AsyncClient, key: str, lead_id: str, *, seconds: float = 10.0
) -> list[dict[str, Any]]:
    """The lead's messages on its timeline once there is one and none is still being sent."""
    for _ in range(int(seconds / 0.05)):
        timeline = (await http.get(f"/v1/leads/{lead_id}/timeline", headers=bearer(key))).json()
        touches = [entry for entry in timeline["entries"] if entry["type"] == "touch"]
        if touches and all(t["status"] not in ("claimed", "sending") for t in touches):
            return touches
        await asyncio.sleep(0.05)
    raise AssertionError(f"no settled message on the timeline within {seconds:g} s")
