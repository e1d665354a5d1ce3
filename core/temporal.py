"""The Temporal client factory: one place that knows the address and the data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from core.settings import Settings


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
