"""SQLite mode and PostgreSQL mode keep their journeys on Temporal servers of their own."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from scripts.stack import temporal_db_file
from tests.conftest import _fresh_postgres_database
from tests.scripts.test_run import Stack, _stop


def test_each_database_names_its_own_temporal_file_without_its_password():
    data = Path("/data")
    sqlite = temporal_db_file(data, "sqlite:///.data/facet.db")
    facet = temporal_db_file(data, "postgresql+psycopg://facet:pw@db:5432/facet")
    assert sqlite == data / "temporal.db"  # where SQLite mode always kept it
    assert facet.parent == data and facet.name.startswith("temporal-postgresql-facet-")
    assert "pw" not in facet.name
    # The same database with another password is the same data; another database is not.
    assert temporal_db_file(data, "postgresql+psycopg://facet:new@db:5432/facet") == facet
    assert temporal_db_file(data, "postgresql+psycopg://facet:pw@db:5432/other") != facet
    assert temporal_db_file(data, "postgresql+psycopg://facet:pw@db2:5432/facet") != facet


def _journey_ids(stack: Stack) -> str:
    """What the running stack's Temporal UI lists (the UI's own JSON API)."""
    with urllib.request.urlopen(
        f"http://127.0.0.1:{stack.ui}/api/v1/namespaces/default/workflows", timeout=10
    ) as response:
        return json.dumps(json.loads(response.read()))


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_postgres_mode_does_not_see_the_journeys_of_sqlite_mode(tmp_path):
    sqlite = Stack(tmp_path)
    launcher = sqlite.start()
    try:
        log, key = sqlite.first_banner(launcher)
        sqlite_journey = sqlite.capture(log, key, email="sqlite-mode@example.com")
    finally:
        assert _stop(launcher) == 0

    url, drop = _fresh_postgres_database()
    try:
        postgres = Stack(tmp_path, database_url=url)
        launcher = postgres.start()
        try:
            log, key = postgres.first_banner(launcher)
            assert f"(its data: {temporal_db_file(tmp_path, url)})" in log
            postgres_journey = postgres.capture(log, key, email="postgres-mode@example.com")
            listed = _journey_ids(postgres)
            assert postgres_journey["journey_workflow_id"] in listed
            assert sqlite_journey["journey_workflow_id"] not in listed
        finally:
            assert _stop(launcher) == 0
    finally:
        drop()
    assert (tmp_path / "temporal.db").exists()
    assert temporal_db_file(tmp_path, url).exists()
