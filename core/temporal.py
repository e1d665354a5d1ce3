"""The Temporal client factory: one place that knows the address and the data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from core.settings import Settings

# How the embedded dev server (`make run`, `make bench`) keeps its SQLite file: in WAL mode,
# with a sync at checkpoints rather than at every commit. Its default (a rollback journal
# synced on every commit) spent most of the dev server's time in fsync: bare starts ran two
# to three times slower and journeys' first messages queued behind each other under a burst.
# NORMAL survives a crash of any process; only a power cut can lose the last commits (the
# send gate's touch rows, in Facet's own database, still stop a step from going out twice).
EMBEDDED_SERVER_SQLITE = (
    "--sqlite-pragma",
    "journal_mode=wal",
    "--sqlite-pragma",
    "synchronous=normal",
)


async def connect_temporal(settings: Settings, *, lazy: bool = False) -> Client:
    """Connect to Temporal with the pydantic data converter every Facet process must share.

    `lazy=True` defers the connection to the first call, so the API can start (and report
    Temporal as unreachable on /healthz) while the server is still coming up.
    """
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        lazy=lazy,
    )
