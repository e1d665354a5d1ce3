"""The API's composition root: `create_app()` wires settings, the database and Temporal.

uvicorn api.app:create_app --factory
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api import errors
from api.auth import actor_cache
from api.campaigns.router import router as campaigns_router
from api.docs import document_answers, install_docs
from api.health.router import router as health_router
from api.imports import service as imports_service
from api.imports.router import router as imports_router
from api.inputs import InputGuard, Refusal, answer_refusal
from api.insight.router import router as insight_router
from api.integrations.router import router as integrations_router
from api.leads.router import router as leads_router
from api.methods import AllowedMethods
from api.pos.router import router as pos_router
from api.scoring.router import router as scoring_router
from api.sequences.router import router as sequences_router
from api.tasks.router import router as tasks_router
from api.webhooks.router import router as webhooks_router
from core.logging import configure_logging
from core.settings import Settings, get_settings
from core.temporal import connect_temporal
from db.session import Database
from domain.reference import Reference
from web import console


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    temporal: Client | None = None,
) -> FastAPI:
    """Build the app. Tests pass their own database and Temporal client; a server passes none."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        owned: Database | None = None
        if getattr(app.state, "database", None) is None:
            owned = app.state.database = Database(settings.database_url)
        if getattr(app.state, "temporal", None) is None:
            app.state.temporal = await connect_temporal(settings, lazy=True)
        # Imports a stopped process left `running` are told apart now, not left running forever.
        await imports_service.interrupt_stalled(app.state.database)
        yield
        await imports_service.stop_running()  # recorded `interrupted`, with the rows done
        if owned is not None:
            owned.dispose()

    app = FastAPI(
        title="Facet",
        version="0.1.0",
        summary="Lead capture, qualification and nurturing for jewelry stores.",
        lifespan=lifespan,
        docs_url=None,  # install_docs serves them from installed files: no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.temporal = temporal
    # What the API keeps of rows that rarely change, and of keys it saw a moment ago.
    app.state.reference = Reference()
    app.state.actors = actor_cache()
    errors.install(app)
    install_docs(app)
    for router in (
        health_router,
        leads_router,
        pos_router,
        sequences_router,
        webhooks_router,
        tasks_router,
        scoring_router,
        campaigns_router,
        integrations_router,
        insight_router,
        imports_router,
    ):
        document_answers(router.routes)
        app.include_router(router)
    console.install(app)  # the staff console (web/), in the same app
    app.add_middleware(AllowedMethods, routes=app.routes)
    # Outermost: what no route should parse is refused before any route (or middleware) reads.
    app.add_middleware(
        InputGuard,
        default_limit=settings.max_body_bytes,
        limits=(
            ("/v1/webhooks/", settings.max_webhook_body_bytes),
            ("/v1/integrations/", settings.max_webhook_body_bytes),
        ),
        signed_prefixes=("/v1/webhooks/", "/v1/integrations/"),
        streamed=(
            ("/v1/imports/", settings.max_import_bytes),
            ("/console/imports", settings.max_import_bytes),
        ),
    )
    app.add_exception_handler(Refusal, answer_refusal)
    return app
