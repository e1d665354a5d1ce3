"""The admin scoring routes through the real app, worker and dev server: a refit on demand
promotes a model learned from the store's outcomes and rescores its leads; the record of
refits lists it; only admins may do either."""

from __future__ import annotations

import uuid

import pytest

from core.vocabulary import ApiRole
from tests.conftest import bearer
from tests.qualification.synthetic import write_history


async def test_admin_refits_on_demand_and_reads_the_record(http, database, store, api_key):
    write_history(database, store.id, 600, seed=20260603)
    admin = bearer(api_key(ApiRole.ADMIN))

    refit = await http.post(
        "/v1/admin/scoring/refit", json={"store_id": str(store.id)}, headers=admin
    )

    assert refit.status_code == 200, refit.text
    [result] = refit.json()["refits"]
    assert result["promoted"] is True, result["reason"]
    assert result["candidate"]["auc"] > result["current"]["auc"]
    assert refit.json()["rescored"] == 600

    listed = await http.get(
        "/v1/admin/scoring/models", params={"store_id": str(store.id)}, headers=admin
    )
    assert listed.status_code == 200
    [model] = listed.json()
    assert model["version"] == result["version"] and model["promoted"] is True
    assert model["metrics"]["labelled"] == 600 and model["promoted_at"] is not None


async def test_refit_of_an_unknown_store_names_the_field(http, api_key):
    answer = await http.post(
        "/v1/admin/scoring/refit",
        json={"store_id": str(uuid.uuid4())},
        headers=bearer(api_key(ApiRole.ADMIN)),
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "store_id"]


@pytest.mark.parametrize("role", [ApiRole.ASSOCIATE, ApiRole.MARKETING, ApiRole.POS])
async def test_only_admins_may_refit_or_read_models(http, database, store, api_key, role):
    key = bearer(api_key(role, store_id=store.id))

    refit = await http.post(
        "/v1/admin/scoring/refit", json={"store_id": str(store.id)}, headers=key
    )
    listed = await http.get(
        "/v1/admin/scoring/models", params={"store_id": str(store.id)}, headers=key
    )

    assert refit.status_code == listed.status_code == 403
    admin = bearer(api_key(ApiRole.ADMIN))
    record = await http.get(
        "/v1/admin/scoring/models", params={"store_id": str(store.id)}, headers=admin
    )
    assert record.json() == []  # the refused refit started nothing
