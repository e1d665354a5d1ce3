"""CSV imports over HTTP: the body streams to disk, then connectors/csv_import imports it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import IO
from urllib.parse import urlencode

from fastapi import HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import Backend
from api.imports.schemas import ImportAccepted, ImportReport, RowProblem
from connectors.csv_import.reading import FileRefused
from connectors.csv_import.upload import parts, spooled, start_import, stop_imports
from db.models import ImportRun
from db.session import Database
from db.types import utcnow
from domain import imports
from domain.access import Actor
from domain.effects import Effects


def _refused(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": ["body"], "msg": message, "type": "csv_file"}],
    )


async def received_file(request: Request) -> IO[bytes]:
    """The CSV the request carries (the raw body, or the `file` part of a multipart form),
    copied to a temporary file as it arrives."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await spooled(request.stream())
    form = await request.form(max_files=1, max_fields=10)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                [{"loc": ["body", "file"], "msg": "a CSV file in the part named file",
                  "type": "missing"}],
            )  # fmt: skip
        return await spooled(parts(upload))
    finally:
        await form.close()


async def start(
    request: Request,
    backend: Backend,
    actor: Actor,
    *,
    kind: imports.Kind,
    store_id: uuid.UUID | None,
    source: str,
    full: bool,
    dry_run: bool,
) -> ImportAccepted:
    store = store_id or actor.store_id
    if store is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["query", "store_id"], "msg": "the store to import into (this key "
              "may see every store)", "type": "missing"}],
        )  # fmt: skip
    file = await received_file(request)

    async def tell(effects: Effects) -> None:
        await backend.tell_temporal(effects, saved="an imported sale")

    try:
        run_id = await start_import(
            backend.database, backend.reference, actor, file, kind=kind, store_id=store,
            source=source, full=full, dry_run=dry_run, tell=tell,
        )  # fmt: skip
    except FileRefused as refused:
        file.close()
        raise _refused(str(refused)) from refused
    except BaseException:
        file.close()
        raise
    return ImportAccepted(import_id=run_id, status="running", report_url=f"/v1/imports/{run_id}")


def _resume_url(run: ImportRun) -> str:
    """Where to send the same file again to finish an interrupted run (its own parameters)."""
    query = {"store_id": str(run.store_id), "source": run.source, "mode": run.mode}
    if run.dry_run:
        query["dry_run"] = "true"
    return f"/v1/imports/{run.kind}?{urlencode(query)}"


def report(run: ImportRun, now: datetime) -> ImportReport:
    status = imports.status_of(run, now)
    return ImportReport(
        import_id=run.id,
        store_id=run.store_id,
        kind=run.kind,
        source=run.source,
        mode=run.mode,
        dry_run=run.dry_run,
        status=status,
        rows_read=run.rows_read,
        rows_failed=run.rows_failed,
        created=run.created,
        updated=run.updated,
        unchanged=run.unchanged,
        deactivated=run.deactivated,
        error_count=run.error_count,
        errors=[RowProblem(**error) for error in run.errors],
        failure=imports.failure_of(run, now),
        full_mode_means=imports.FULL_MODE_MEANS[run.kind],
        resume_url=_resume_url(run) if status == "interrupted" else None,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )


async def read_report(backend: Backend, actor: Actor, import_id: uuid.UUID) -> ImportReport:
    run = await run_in_threadpool(
        backend.database.read, lambda s: imports.run_for(s, actor, import_id)
    )
    return report(run, utcnow())


async def interrupt_stalled(database: Database) -> int:
    """Record the runs a stopped process left `running` as `interrupted` (the API starting)."""
    return await run_in_threadpool(
        database.run, lambda s: imports.interrupt_stalled(s, now=utcnow())
    )


async def stop_running() -> None:
    """Stop the imports this process runs (the API shutting down): each is recorded
    `interrupted` with the rows it had done."""
    await stop_imports()
