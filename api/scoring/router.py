"""Admin routes for the learned score: refit now, and the record of every refit."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import require_roles
from api.deps import BackendDep, DatabaseDep
from api.idempotency import IdempotentRoute
from api.scoring import service
from api.scoring.schemas import ModelView, RefitIn
from domain.access import Actor
from workflows.qualification_model import NightlyResult

router = APIRouter(prefix="/v1/admin/scoring", tags=["scoring"], route_class=IdempotentRoute)

Admin = Annotated[Actor, Depends(require_roles())]


@router.post("/refit", responses={403: {"description": "Admins only"}})
async def refit(body: RefitIn, actor: Admin, backend: BackendDep) -> NightlyResult:
    """Refit the store's model now (promoted only if it beats the current scorer), then rescore."""
    return await service.refit(body, actor, backend)


@router.get("/models", responses={403: {"description": "Admins only"}})
async def models(store_id: uuid.UUID, actor: Admin, database: DatabaseDep) -> list[ModelView]:
    """Every refit of the store, newest first, with its held-out metrics and why it won or lost."""
    return await service.models(store_id, actor, database=database)
