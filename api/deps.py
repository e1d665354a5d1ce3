"""Annotated dependency aliases: what a route may ask FastAPI to hand it.

Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency on the
thread pool, a hop per dependency per request for what is an attribute read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from temporalio.client import Client

from api.errors import reaching_temporal
from core.settings import Settings
from db.session import Database
from domain.effects import Effects
from domain.reference import Reference
from workflows import handles


@dataclass(frozen=True)
class Backend:
    """What a route's service stands on: the database (with what it keeps of rarely-changing
    rows), Temporal, and the settings. create_app sets them up once."""

    database: Database
    reference: Reference
    temporal: Client
    settings: Settings

    async def tell_temporal(self, effects: Effects, *, saved: str) -> handles.Applied:
        """Apply a committed operation's effects; 503 (a retry is safe) if Temporal is down."""
        async with reaching_temporal(saved):
            return await handles.apply(self.temporal, self.settings.temporal_task_queue, effects)


async def _backend(request: Request) -> Backend:
    state = request.app.state
    return Backend(state.database, state.reference, state.temporal, state.settings)


async def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def _temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


BackendDep = Annotated[Backend, Depends(_backend)]
DatabaseDep = Annotated[Database, Depends(_database)]
TemporalDep = Annotated[Client, Depends(_temporal)]
SettingsDep = Annotated[Settings, Depends(_settings)]
