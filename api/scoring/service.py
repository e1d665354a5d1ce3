"""Refit a store's model now, and read the record of its refits."""

from __future__ import annotations

import uuid

from fastapi.concurrency import run_in_threadpool
from temporalio.service import RPCError

from api.deps import Backend
from api.errors import unavailable
from api.scoring.schemas import ModelView, RefitIn
from db.repositories import ScoringModelRepository
from db.session import Database
from domain.access import Actor
from domain.errors import InvalidField
from workflows import handles
from workflows.qualification_model import NightlyResult


async def refit(body: RefitIn, actor: Actor, backend: Backend) -> NightlyResult:
    actor.check_store(body.store_id)
    store = await run_in_threadpool(
        backend.database.read, lambda session: backend.reference.store(session, body.store_id)
    )
    if store is None:
        raise InvalidField("store_id", f"no store with id {body.store_id}")
    try:
        return await handles.refit_now(
            backend.temporal,
            backend.settings.temporal_task_queue,
            body.store_id,
            rescore=body.rescore,
        )
    except RPCError as error:
        raise unavailable(f"the refit could not be started ({error.message})") from error


async def models(store_id: uuid.UUID, actor: Actor, *, database: Database) -> list[ModelView]:
    actor.check_store(store_id)
    rows = await run_in_threadpool(
        database.read, lambda session: ScoringModelRepository(session).history(store_id)
    )
    return [ModelView.model_validate(row) for row in rows]
