"""Starting an import from a file a door has received (the API's body, the console's upload).

The door streams the upload into a temporary file on disk (never the whole file in memory);
here its header is checked at once (a file refused as a whole answers 422 and records
nothing), the run row is opened, and the rows are imported in the background while the
caller answers with the run's id.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import IO, Protocol

from connectors.csv_import.columns import COLUMNS
from connectors.csv_import.reading import records
from connectors.csv_import.runner import ImportOrder, Tell, run_import
from db.session import Database
from domain import imports
from domain.access import Actor
from domain.reference import Reference

CHUNK = 64 * 1024
SPOOL = 1024 * 1024  # an upload stays in memory up to this, then goes to a temporary file


class _Readable(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


# Imports running in this process (a task nobody holds may be collected mid-run).
_RUNNING: set[asyncio.Task[None]] = set()


async def spooled(parts: AsyncIterable[bytes]) -> IO[bytes]:
    """The upload's bytes, copied as they arrive to a file (on disk past `SPOOL` bytes)."""
    file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115
    try:
        async for part in parts:
            file.write(part)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file


async def parts(upload: _Readable) -> AsyncIterator[bytes]:
    """An uploaded form file's bytes, a chunk at a time."""
    while chunk := await upload.read(CHUNK):
        yield chunk


def chunks(file: IO[bytes]) -> Iterator[bytes]:
    while chunk := file.read(CHUNK):
        yield chunk


def check_header(file: IO[bytes], kind: imports.Kind) -> None:
    """Raise `FileRefused` unless the file is UTF-8 and its header names the required columns."""
    required, optional = COLUMNS[kind]
    file.seek(0)
    next(records(chunks(file), required, [*required, *optional]), None)
    file.seek(0)


async def start_import(
    database: Database,
    reference: Reference,
    actor: Actor,
    file: IO[bytes],
    *,
    kind: imports.Kind,
    store_id: uuid.UUID,
    source: str,
    full: bool,
    dry_run: bool,
    tell: Tell,
) -> uuid.UUID:
    """Check the file, open its run and import it in the background; the run's id. The
    file is closed when the import ends. Raises `FileRefused` or a domain error (nothing
    recorded then)."""
    await asyncio.to_thread(check_header, file, kind)
    run_id = await asyncio.to_thread(
        database.run,
        lambda s: imports.open_run(
            s,
            reference,
            actor,
            store_id=store_id,
            kind=kind,
            source=source,
            mode="full" if full else "delta",
            dry_run=dry_run,
        ),
    )
    order = ImportOrder(run_id, store_id, kind, source, full, dry_run, actor)

    async def run() -> None:
        try:
            await run_import(database, reference, order, chunks(file), tell)
        finally:
            file.close()

    task = asyncio.create_task(run(), name=f"import {run_id}")
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return run_id


async def finished_imports() -> None:
    """Wait for the imports running in this process (a test's or a shutdown's end)."""
    while _RUNNING:
        await asyncio.gather(*list(_RUNNING), return_exceptions=True)


async def stop_imports() -> None:
    """Stop the imports running in this process (a shutdown): each records itself
    `interrupted`, with the rows it had done."""
    running = list(_RUNNING)
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
