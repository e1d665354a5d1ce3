"""CSV imports from the console, for admins and managers: upload a file, watch it run, read
its report (each bad row: row, column, what was expected).

The file streams to disk as it arrives and is imported in the background by the same code
as `POST /v1/imports/{kind}` (connectors/csv_import); the report page polls its progress.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from connectors.csv_import.columns import COLUMNS
from connectors.csv_import.reading import FileRefused
from connectors.csv_import.upload import parts, spooled, start_import
from core.settings import Settings
from db.models import ImportRun
from db.repositories import ImportRunRepository, StoreRepository
from db.types import utcnow
from domain import imports
from domain.accounts import Person
from domain.effects import Effects
from domain.errors import DomainError
from web import session
from web.inbox import read
from web.pages import Refused, allow, back_to, optional_uuid, person, refusal, render
from workflows import handles

router = APIRouter(prefix="/console/imports", include_in_schema=False)
SOURCE = re.compile(r"[a-z0-9_-]{1,32}")


async def _importer(request: Request) -> Person:
    me = await person(request)
    allow(me.manages, "import files; ask a manager or an admin")
    return me


def _columns() -> dict[str, dict[str, list[str]]]:
    return {
        kind: {"required": required, "optional": optional}
        for kind, (required, optional) in COLUMNS.items()
    }


async def _page(request: Request, me: Person, status: int = 200, **context: Any) -> Response:
    def load(s: Any) -> dict[str, Any]:
        store_ids = None if me.actor.store_id is None else [me.actor.store_id]
        stores = [b for b in StoreRepository(s).all() if store_ids is None or b.id in store_ids]
        runs = ImportRunRepository(s).recent(store_ids)
        now = utcnow()
        return {"stores": stores, "runs": runs,
                "statuses": {run.id: imports.status_of(run, now) for run in runs}}  # fmt: skip

    loaded = await read(request, load)
    return render(
        request,
        "imports.html",
        {"person": me, "columns": _columns(), "means": imports.FULL_MODE_MEANS, **loaded,
         "form": {}, **context},
        status,
    )  # fmt: skip


@router.get("")
async def imports_page(request: Request) -> Response:
    """The upload form and the latest imports."""
    return await _page(request, await _importer(request))


@router.post("")
async def upload(request: Request) -> Response:
    """Start an import of the uploaded file; its report page follows it."""
    try:
        fields, upload = await session.form_with_upload(request)
        me = await _importer(request)
        kind = fields.get("kind", "")
        if kind not in imports.KINDS:
            return await _page(request, me, 422, error="Choose what the file holds.",
                               error_field="kind", form=fields)  # fmt: skip
        store_id = optional_uuid(fields.get("store_id")) or me.actor.store_id
        if store_id is None:
            return await _page(request, me, 422, error="Choose the branch to import into.",
                               error_field="store_id", form=fields)  # fmt: skip
        if upload is None:
            return await _page(request, me, 422, error="Choose a CSV file to upload.",
                               error_field="file", form=fields)  # fmt: skip
        # The system that wrote the file (an interrupted run's form sends its own again).
        source = fields.get("source") or "csv"
        if not SOURCE.fullmatch(source):
            return await _page(request, me, 422, error="Lower-case letters, digits, - and _ "
                               "(at most 32).", error_field="source", form=fields)  # fmt: skip
        file = await spooled(parts(upload))
    finally:
        await session.close_upload(request)
    settings: Settings = request.app.state.settings

    async def tell(effects: Effects) -> None:
        await handles.apply(request.app.state.temporal, settings.temporal_task_queue, effects)

    try:
        run_id = await start_import(
            request.app.state.database, request.app.state.reference, me.actor, file,
            kind=kind, store_id=store_id, source=source, full=fields.get("mode") == "full",
            dry_run=fields.get("dry_run") == "1", tell=tell,
        )  # fmt: skip
    except FileRefused as refused:
        file.close()
        return await _page(request, me, 422, error=f"{refused}.", error_field="file", form=fields)
    except DomainError as error:
        file.close()
        raise refusal(error) from error
    return back_to(request, f"/console/imports/{run_id}")


async def _run(request: Request, import_id: str) -> tuple[Person, Any]:
    me = await _importer(request)
    run_id = optional_uuid(import_id)
    if run_id is None:
        raise Refused(404, "There is nothing here, or it belongs to another branch.")
    found = await read(request, lambda s: imports.run_for(s, me.actor, run_id))
    return me, found


@router.get("/{import_id}")
async def report_page(request: Request, import_id: str) -> Response:
    """One import: its progress while it runs, its report after."""
    me, run = await _run(request, import_id)
    return render(
        request,
        "import.html",
        {"person": me, "run": run, "means": imports.FULL_MODE_MEANS[run.kind], **_state(run)},
    )


@router.get("/{import_id}/progress")
async def progress(request: Request, import_id: str) -> Response:
    """The report's part that changes while the import runs (htmx polls it)."""
    _, run = await _run(request, import_id)
    return render(
        request,
        "_import_progress.html",
        {"run": run, "run_id": uuid.UUID(str(run.id)), **_state(run)},
    )


def _state(run: ImportRun) -> dict[str, Any]:
    """How the run stands as a person reads it (a run whose process stopped: interrupted)."""
    now = utcnow()
    return {"status": imports.status_of(run, now), "failure": imports.failure_of(run, now)}
