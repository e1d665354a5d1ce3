"""GET /healthz reports what the API can reach."""

from __future__ import annotations

import socket

from core.settings import Settings
from core.temporal import connect_temporal
from tests.conftest import api_client


async def test_healthy_without_a_key_when_database_and_temporal_answer(dev_server, database):
    async with api_client(database, dev_server.client, "unused") as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "temporal": "ok"}


async def test_names_temporal_when_it_is_unreachable(database):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    client = await connect_temporal(Settings(temporal_address=f"127.0.0.1:{port}"), lazy=True)
    async with api_client(database, client, "unused") as http:
        response = await http.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]) == ("degraded", "ok")
    assert body["temporal"].startswith("unreachable")
