"""Recorded workflow histories: what running journeys would replay against new code.

A test that produces a representative history calls `keep_history(handle, name)`. With
FACET_RECORD_HISTORIES=1 it (re)writes `histories/<name>.json`; normally it does nothing.
Record a new history when a workflow gains behaviour; never re-record an old one to make a
replay pass — that is the change running journeys would trip over (use workflow.patched).
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import WorkflowHandle

HISTORIES = Path(__file__).parent / "histories"


async def keep_history(handle: WorkflowHandle, name: str) -> None:
    if os.environ.get("FACET_RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    (HISTORIES / f"{name}.json").write_text(history.to_json())
