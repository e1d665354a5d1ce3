"""`python -m api.keys create` prints a working key once and stores only its hash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from db.models import ApiKey
from db.repositories import hash_api_key
from tests.conftest import api_client

ROOT = Path(__file__).resolve().parents[2]


def _keys_command(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.keys", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_created_key_works_with_its_role_and_only_its_hash_is_stored(
    database, store, dev_server
):
    done = _keys_command(database.url, "create", "--role", "pos", "--name", "till-1")
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("fct_")

    stored = database.run(
        lambda s: s.scalars(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key))).one()
    )
    assert (stored.name, stored.role) == ("till-1", "pos")
    assert key not in (stored.key_hash, stored.prefix)

    async with api_client(database, dev_server.client, "unused") as http:
        lead = await http.get(f"/v1/leads/{store.id}", headers={"X-API-Key": key})
    assert lead.status_code == 403  # authenticated as pos, which may not read leads


def test_unknown_role_is_refused_and_creates_nothing(database):
    before = database.run(lambda s: len(s.scalars(select(ApiKey)).all()))
    done = _keys_command(database.url, "create", "--role", "owner", "--name", "x")
    assert done.returncode == 2
    assert "invalid choice: 'owner'" in done.stderr
    assert database.run(lambda s: len(s.scalars(select(ApiKey)).all())) == before
