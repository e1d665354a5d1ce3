"""Admin routes for the learned score: refit now, and the record of every refit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict
from temporalio.service import RPCError

from api.auth import Principal, require_roles
from api.deps import DatabaseDep, SettingsDep, TemporalDep
from api.errors import field_error, unavailable
from db.repositories import ScoringModelRepository, StoreRepository
from workflows.qualification import NightlyInput, NightlyQualification, NightlyResult

router = APIRouter(prefix="/v1/admin/scoring", tags=["scoring"])

Admin = Annotated[Principal, Depends(require_roles())]


class RefitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: uuid.UUID
    rescore: bool = True


class ModelView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: str
    promoted: bool
    reason: str
    metrics: dict[str, Any]
    created_at: datetime
    promoted_at: datetime | None


@router.post("/refit", responses={403: {"description": "Admins only"}})
async def refit(
    body: RefitIn,
    principal: Admin,
    database: DatabaseDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> NightlyResult:
    """Refit the store's model now (promoted only if it beats the current scorer), then rescore."""
    principal.check_store(body.store_id)
    store = await run_in_threadpool(
        database.read, lambda session: StoreRepository(session).get(body.store_id)
    )
    if store is None:
        raise field_error("store_id", f"no store with id {body.store_id}")
    try:
        return await temporal.execute_workflow(
            NightlyQualification.run,
            NightlyInput(store_id=body.store_id, rescore=body.rescore),
            id=f"refit:{body.store_id}:{uuid.uuid4()}",
            task_queue=settings.temporal_task_queue,
        )
    except RPCError as error:
        raise unavailable(f"the refit could not be started ({error.message})") from error


@router.get("/models", responses={403: {"description": "Admins only"}})
async def models(store_id: uuid.UUID, principal: Admin, database: DatabaseDep) -> list[ModelView]:
    """Every refit of the store, newest first, with its held-out metrics and why it won or lost."""
    principal.check_store(store_id)
    rows = await run_in_threadpool(
        database.read, lambda session: ScoringModelRepository(session).history(store_id)
    )
    return [ModelView.model_validate(row) for row in rows]
