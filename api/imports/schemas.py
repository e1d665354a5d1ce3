"""What the import routes answer."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class ImportAccepted(BaseModel):
    import_id: uuid.UUID
    status: str
    report_url: str


class RowProblem(BaseModel):
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    expected: str


class ImportReport(BaseModel):
    import_id: uuid.UUID
    store_id: uuid.UUID
    kind: str
    source: str
    mode: str
    dry_run: bool
    # running | done | failed | interrupted (its process stopped: send the same file to
    # `resume_url` to finish it; rows imported before are found unchanged, none twice)
    status: str
    rows_read: int
    rows_failed: int
    created: int
    updated: int
    unchanged: int
    deactivated: int
    error_count: int
    errors: list[RowProblem]  # the first 500 problems; error_count counts them all
    failure: str | None
    full_mode_means: str
    resume_url: str | None  # an interrupted run: where to POST the same file again
    started_at: datetime
    finished_at: datetime | None
