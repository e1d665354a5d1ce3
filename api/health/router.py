"""GET /healthz: can this API reach its database and Temporal?"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import DatabaseDep, TemporalDep
from api.health import service
from api.health.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "Degraded", "model": Health}})
async def healthz(database: DatabaseDep, temporal: TemporalDep) -> JSONResponse:
    """200 when the database and Temporal answer; 503 naming what does not."""
    health = await service.check(database, temporal)
    return JSONResponse(health.model_dump(), status_code=200 if health.status == "ok" else 503)
