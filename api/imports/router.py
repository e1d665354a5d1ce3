"""CSV imports of customers, sale lines and products (roles `pos` and admin)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status

from api.auth import require_roles
from api.deps import BackendDep
from api.imports import service
from api.imports.schemas import ImportAccepted, ImportReport
from core.vocabulary import ApiRole
from domain.access import Actor

router = APIRouter(prefix="/v1/imports", tags=["imports"])

Importer = Annotated[Actor, Depends(require_roles(ApiRole.POS))]


@router.post(
    "/{kind}",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        413: {"description": "The file is larger than the import limit"},
        422: {"description": "A parameter, or the file as a whole (encoding, header), is wrong"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    },
)
async def post_import(
    kind: Literal["customers", "sales", "products"],
    request: Request,
    principal: Importer,
    backend: BackendDep,
    store_id: Annotated[uuid.UUID | None, Query()] = None,
    source: Annotated[str, Query(pattern=r"^[a-z0-9_-]{1,32}$")] = "csv",
    mode: Annotated[Literal["delta", "full"], Query()] = "delta",
    dry_run: Annotated[bool, Query()] = False,
) -> ImportAccepted:
    """Import a CSV (the body, or the `file` part of a form) in the background; its report
    is at `report_url` while it runs and after."""
    return await service.start(
        request, backend, principal, kind=kind, store_id=store_id, source=source,
        full=mode == "full", dry_run=dry_run,
    )  # fmt: skip


@router.get("/{import_id}")
async def get_import(
    import_id: uuid.UUID, principal: Importer, backend: BackendDep
) -> ImportReport:
    """Where an import stands: rows read, what each did, the bad rows (row, column, expected)."""
    return await service.read_report(backend, principal, import_id)
