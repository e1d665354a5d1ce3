"""GET /healthz: can this API reach its database and Temporal?"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import DatabaseDep, TemporalDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(database: DatabaseDep, temporal: TemporalDep) -> JSONResponse:
    """200 when the database and Temporal answer; 503 naming what does not."""

    checks: dict[str, str] = {}
    try:
        await run_in_threadpool(database.read, lambda session: session.execute(text("SELECT 1")))
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"unreachable: {type(error).__name__}"
    try:
        await asyncio.wait_for(
            temporal.service_client.check_health(timeout=timedelta(seconds=2)), timeout=3
        )
        checks["temporal"] = "ok"
    except Exception as error:
        checks["temporal"] = f"unreachable: {type(error).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", **checks}, status_code=200 if healthy else 503
    )
