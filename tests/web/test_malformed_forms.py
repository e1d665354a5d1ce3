"""Every console form post refuses what it cannot keep with a 4xx and changes nothing.

The API's table (tests/api/test_malformed_inputs.py) covers JSON bodies; this one covers the
console's forms, enumerated from the app so a new form is covered without being listed.
"""

from __future__ import annotations

import uuid

import pytest
from fastapi.routing import iter_route_contexts

from api.app import create_app
from tests.api.test_malformed_inputs import _row_counts
from tests.conftest import test_settings as settings_for
from tests.web.people import make_account, signed_in

APP = create_app(settings_for("sqlite://", "unused"))
FORM_ROUTES = sorted(
    route.path_format
    for route in iter_route_contexts(APP.routes)
    if route.path_format
    and route.path_format.startswith("/console")
    and "POST" in (route.methods or ())
)
MAX_BODY = APP.state.settings.max_body_bytes


def _path(template: str) -> str:
    path = template
    for name in ("lead_id", "task_id", "other_id", "campaign_id"):
        path = path.replace("{" + name + "}", str(uuid.uuid4()))
    return path.replace("{token}", "not-a-token")


def test_the_console_has_forms_to_check():
    assert "/console/sign-in" in FORM_ROUTES and len(FORM_ROUTES) >= 5, FORM_ROUTES


@pytest.mark.parametrize("template", FORM_ROUTES)
async def test_a_malformed_form_is_a_4xx_that_changes_nothing(template, console, database, store):
    path = _path(template)
    async with console() as http:
        admin = await signed_in(http, make_account(database, store, "admin"))
        before = _row_counts(database)
        cases = {
            "a NUL in a field": await admin.post(path, {"note": "a\x00b", "email": "x\x00@y"}),
            "a field that is not UTF-8": await http.post(
                path,
                content=b"csrf=" + admin.csrf.encode() + b"&note=%ff%fe",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            "a body over the limit": await admin.post(path, {"note": "x" * (MAX_BODY + 1)}),
            "no CSRF token": await http.post(path, data={"note": "hello"}),
        }
        after = _row_counts(database)
    answers = {name: answer.status_code for name, answer in cases.items()}
    assert all(400 <= status < 500 for status in answers.values()), answers
    assert answers["a NUL in a field"] == 422 and answers["a body over the limit"] == 413, answers
    assert answers["no CSRF token"] in (403, 422), answers
    assert after == before
