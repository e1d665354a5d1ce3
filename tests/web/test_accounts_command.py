"""`python -m web.accounts invite`: the first admin's one-time link, used in the console."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from tests.web.people import SECRET, csrf_of

ROOT = Path(__file__).resolve().parents[2]


def _invite(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "ENVIRONMENT": "test",
        "PUBLIC_BASE_URL": "http://facet.test",
    }
    return subprocess.run(
        [sys.executable, "-m", "web.accounts", "invite", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_first_admin_sets_a_password_through_the_printed_link(
    console, database_url, database
):
    email = f"owner.{uuid.uuid4().hex[:8]}@example.com"
    done = _invite(database_url, "--email", email, "--role", "admin", "--name", "Owner")
    assert done.returncode == 0, done.stderr
    link = re.search(r"http://facet\.test(/console/invite/\S+)", done.stdout)
    assert link, done.stdout
    async with console() as http:
        page = await http.get(link.group(1))
        assert page.status_code == 200 and email in page.text
        password = "the owner's own password"
        answer = await http.post(
            link.group(1),
            data={"csrf": csrf_of(page.text), "password": password, "again": password},
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/console"
        inbox = await http.get("/console", follow_redirects=True)
        assert inbox.status_code == 200 and "Owner" in inbox.text and "Tasks" in inbox.text
        # The link worked once.
        assert (await http.get(link.group(1))).status_code == 410


async def test_a_person_cannot_be_a_till(database_url):
    done = _invite(database_url, "--email", "till@example.com", "--role", "pos")
    assert done.returncode == 2 and "invalid choice" in done.stderr


async def test_two_different_passwords_are_refused_beside_the_form(console, database_url):
    email = f"m.{uuid.uuid4().hex[:8]}@example.com"
    done = _invite(database_url, "--email", email, "--role", "marketing")
    link = re.search(r"http://facet\.test(/console/invite/\S+)", done.stdout)
    assert link, done.stdout
    path = link.group(1)
    async with console() as http:
        page = await http.get(path)
        answer = await http.post(
            path,
            data={"csrf": csrf_of(page.text), "password": "one long password", "again": "another"},
        )
        assert answer.status_code == 422 and "The two passwords differ." in answer.text
        assert (await http.get(path)).status_code == 200  # still usable
