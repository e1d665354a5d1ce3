"""Whether this API can reach what it needs: its database and Temporal."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text
from temporalio.client import Client

from api.health.schemas import Health
from db.session import Database


async def check(database: Database, temporal: Client) -> Health:
    """Each dependency's answer: "ok", or "unreachable: <error type>"."""
    try:
        await run_in_threadpool(database.read, lambda session: session.execute(text("SELECT 1")))
        database_state = "ok"
    except Exception as error:
        database_state = f"unreachable: {type(error).__name__}"
    try:
        await asyncio.wait_for(
            temporal.service_client.check_health(timeout=timedelta(seconds=2)), timeout=3
        )
        temporal_state = "ok"
    except Exception as error:
        temporal_state = f"unreachable: {type(error).__name__}"
    healthy = database_state == temporal_state == "ok"
    return Health(
        status="ok" if healthy else "degraded", database=database_state, temporal=temporal_state
    )
