"""`python -m api.keys`: keys made once and stored hashed, listed without secrets, revoked;
stores and staff listed; unknown ids answered in one line with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import select

from db.models import ApiKey, Staff
from db.repositories import hash_api_key
from sequences.vocabulary import StaffRole
from tests.conftest import api_client, bearer

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


def _key_count(database) -> int:
    return database.run(lambda s: len(s.scalars(select(ApiKey)).all()))


def _one_line_refusal(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def _staff_of(database, store, role: StaffRole) -> Staff:
    return database.run(
        lambda s: s.scalars(
            select(Staff).where(Staff.store_id == store.id, Staff.role == role)
        ).one()
    )


def test_associate_key_needs_a_known_store_and_a_staff_member_of_it(database, make_store):
    store, other = make_store(), make_store()
    priya = _staff_of(database, store, StaffRole.ASSOCIATE)
    theirs = _staff_of(database, other, StaffRole.ASSOCIATE)
    before = _key_count(database)
    create = ("create", "--role", "associate", "--name", "priya")

    _one_line_refusal(_keys_command(database.url, *create), "--store and --staff")
    _one_line_refusal(
        _keys_command(database.url, *create, "--store", str(store.id)), "--store and --staff"
    )
    unknown_store = uuid.uuid4()
    _one_line_refusal(
        _keys_command(
            database.url, *create, "--store", str(unknown_store), "--staff", str(priya.id)
        ),
        f"no store with id {unknown_store}",
    )
    unknown_staff = uuid.uuid4()
    _one_line_refusal(
        _keys_command(
            database.url, *create, "--store", str(store.id), "--staff", str(unknown_staff)
        ),
        f"no staff member {unknown_staff} in store {store.id}",
    )
    _one_line_refusal(
        _keys_command(database.url, *create, "--store", str(store.id), "--staff", str(theirs.id)),
        f"no staff member {theirs.id} in store {store.id}",
    )
    _one_line_refusal(
        _keys_command(database.url, *create, "--store", "store-1", "--staff", str(priya.id)),
        "invalid UUID value: 'store-1'",
    )
    _one_line_refusal(
        _keys_command(
            database.url, "create", "--role", "pos", "--name", "t", "--store", str(unknown_store)
        ),
        f"no store with id {unknown_store}",
    )
    assert _key_count(database) == before


async def test_associate_key_made_with_store_and_staff_reads_their_tasks(
    database, make_store, dev_server
):
    store = make_store()
    priya = _staff_of(database, store, StaffRole.ASSOCIATE)
    done = _keys_command(
        database.url, "create", "--role", "associate", "--name", "priya",
        "--store", str(store.id), "--staff", str(priya.id),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    stored = database.run(
        lambda s: s.scalars(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key))).one()
    )
    assert (stored.store_id, stored.staff_id) == (store.id, priya.id)
    async with api_client(database, dev_server.client, "unused") as http:
        assert (await http.get("/v1/tasks", headers=bearer(key))).status_code == 200


async def test_list_shows_keys_without_secrets_and_revoke_stops_a_key(database, dev_server):
    name = f"till-{uuid.uuid4().hex[:6]}"
    made = _keys_command(database.url, "create", "--role", "pos", "--name", name)
    key = made.stdout.strip().splitlines()[-1]
    prefix = key[:12]

    listed = _keys_command(database.url, "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if name in line)
    assert prefix in row and "pos" in row
    assert key not in listed.stdout and key[12:] not in listed.stdout

    _one_line_refusal(_keys_command(database.url, "revoke", "fct_00000000"), "no key with id")
    revoked = _keys_command(database.url, "revoke", prefix)
    assert revoked.returncode == 0 and f"revoked {prefix}" in revoked.stdout, revoked.stderr
    again = _keys_command(database.url, "revoke", prefix)
    assert again.returncode == 0 and "already revoked" in again.stdout

    row = next(
        line for line in _keys_command(database.url, "list").stdout.splitlines() if name in line
    )
    assert row.split()[-1] != "-"  # the revoked column holds when
    async with api_client(database, dev_server.client, "unused") as http:
        answer = await http.post("/v1/pos/purchases", json={}, headers=bearer(key))
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_stores_and_staff_are_listed_with_ids_names_and_roles(database, make_store):
    store = make_store()
    stores = _keys_command(database.url, "stores")
    assert stores.returncode == 0, stores.stderr
    assert any(str(store.id) in line and store.name in line for line in stores.stdout.splitlines())

    staff = _keys_command(database.url, "staff", "--store", str(store.id))
    assert staff.returncode == 0, staff.stderr
    rows = staff.stdout.strip().splitlines()[1:]
    members = database.run(
        lambda s: s.scalars(select(Staff).where(Staff.store_id == store.id)).all()
    )
    assert len(rows) == len(members) == 4
    for member in members:
        assert any(str(member.id) in r and member.name in r and member.role in r for r in rows)

    unknown = uuid.uuid4()
    _one_line_refusal(_keys_command(database.url, "staff", "--store", str(unknown)), str(unknown))


def test_a_database_that_is_not_migrated_is_named_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    done = _keys_command(url, "list")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert url in done.stderr and "DATABASE_URL" in done.stderr
