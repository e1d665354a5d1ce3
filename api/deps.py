"""Annotated dependency aliases: what a route may ask FastAPI to hand it.

Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency on the
thread pool, a hop per dependency per request for what is an attribute read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from temporalio.client import Client

from core.settings import Settings
from db.session import Database
from domain.reference import Reference


async def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def _temporal(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _reference(request: Request) -> Reference:
    reference: Reference = request.app.state.reference
    return reference


DatabaseDep = Annotated[Database, Depends(_database)]
TemporalDep = Annotated[Client, Depends(_temporal)]
SettingsDep = Annotated[Settings, Depends(_settings)]
ReferenceDep = Annotated[Reference, Depends(_reference)]
