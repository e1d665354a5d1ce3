"""What the OpenAPI document says of the API, and that the API answers as it says."""

from __future__ import annotations

import re

import pytest

from api.app import create_app
from core.vocabulary import ApiRole
from tests.conftest import api_client, bearer
from tests.conftest import test_settings as settings_for

OPENAPI = create_app(settings_for("sqlite://", "unused")).openapi()
OPERATIONS = [
    (path, method.upper(), operation)
    for path, methods in OPENAPI["paths"].items()
    for method, operation in methods.items()
]
# Routes a vendor, a store system or a person's link calls: a signature or a token, never
# an API key.
UNKEYED = ("/healthz", "/v1/webhooks/", "/v1/integrations/", "/v1/unsubscribe/")


def _keyed(path: str) -> bool:
    return not path.startswith(UNKEYED)


def test_api_keys_are_security_schemes_not_header_parameters():
    schemes = OPENAPI["components"]["securitySchemes"]
    assert schemes["bearerKey"] == {**schemes["bearerKey"], "type": "http", "scheme": "bearer"}
    assert schemes["headerKey"] == {
        **schemes["headerKey"],
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    for path, method, operation in OPERATIONS:
        headers = {
            p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"
        }
        assert not headers & {"x-api-key", "authorization"}, (method, path)
        expected: list[dict[str, list[str]]] | None = (
            [{"bearerKey": []}, {"headerKey": []}] if _keyed(path) else None
        )
        assert operation.get("security") == expected, (method, path)


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS, ids=lambda v: str(v)[:40])
def test_every_answer_a_route_can_give_is_documented(path, method, operation):
    documented = set(operation["responses"])
    expected = {"422"}
    if method == "POST":
        expected |= {"400", "413"}
    if _keyed(path):
        expected |= {"401", "403"}
    if "{" in path:
        expected |= {"403"} if path.startswith("/v1/unsubscribe/") else {"404"}
    if path.startswith("/v1/webhooks/"):
        expected |= {"400", "403"}
    assert expected <= documented, f"{method} {path} misses {sorted(expected - documented)}"
    for code in documented - {"200", "201", "422"}:
        content = operation["responses"][code].get("content", {})
        if code.startswith("4"):
            schemas = [kind["schema"] for kind in content.values()]
            assert {"$ref": "#/components/schemas/Problem"} in schemas, (method, path, code)


def test_conflicts_are_documented_where_a_route_can_meet_one():
    for path in (
        "/v1/leads",  # an Idempotency-Key used again with another body
        "/v1/pos/purchases",
        "/v1/leads/{lead_id}/events",
        "/v1/pos/job-status",
        "/v1/tasks/{task_id}/acknowledge",
        "/v1/tasks/{task_id}/complete",
        "/v1/sequences",
    ):
        assert "409" in OPENAPI["paths"][path]["post"]["responses"], path


async def test_options_and_405_list_every_method_of_the_path(database, dev_server):
    async with api_client(database, dev_server.client, "unused") as http:
        options = await http.options("/v1/sequences")
        assert options.status_code == 204
        assert options.headers["allow"] == "GET, OPTIONS, POST"
        refused = await http.put("/v1/sequences", json={})
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET, OPTIONS, POST"
        for path in OPENAPI["paths"]:
            concrete = path.replace("{lead_id}", "00000000-0000-0000-0000-000000000001")
            concrete = concrete.replace("{task_id}", "00000000-0000-0000-0000-000000000002")
            concrete = concrete.replace("{", "").replace("}", "")
            answer = await http.options(concrete)
            # Every documented path this one also is (POST /v1/imports/{kind} and
            # GET /v1/imports/{import_id} share a shape): the methods of all of them.
            shared = [
                other
                for other, others in OPENAPI["paths"].items()
                if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", other), concrete)
            ]
            expected = sorted(
                {*(m.upper() for p in shared for m in OPENAPI["paths"][p]), "OPTIONS"}
            )
            assert answer.status_code == 204, path
            assert answer.headers["allow"].split(", ") == expected, path
        assert (await http.options("/v1/nothing-here")).status_code == 404


async def test_a_bearer_key_is_read_before_an_x_api_key(database, dev_server, api_key):
    marketing = api_key(ApiRole.MARKETING)
    async with api_client(database, dev_server.client, "unused") as http:
        both = await http.get(
            "/v1/sequences", headers=bearer(marketing) | {"X-API-Key": "fct_junk_junk"}
        )
        assert both.status_code == 200
        alone = await http.get("/v1/sequences", headers={"X-API-Key": marketing})
        assert alone.status_code == 200
        junk = await http.get("/v1/sequences", headers={"X-API-Key": "fct_junk_junk"})
        assert junk.status_code == 401
        missing = await http.get("/v1/sequences")
        assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
