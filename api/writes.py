"""The API's unit of work for idempotent writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.session import Database

T = TypeVar("T")


async def write_once(database: Database, work: Callable[[Session], T]) -> T:
    """Run `work` in one unit of work off the event loop.

    If a unique key refuses it, a concurrent twin of this request (the same person, event or
    webhook) committed first; running again finds that row and answers with it.
    """
    try:
        return await run_in_threadpool(database.run, work)
    except IntegrityError:
        return await run_in_threadpool(database.run, work)
