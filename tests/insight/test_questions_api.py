"""`POST /v1/questions` and the metric CSV over HTTP, on a seeded store, as a person would.

Each answer's number is checked against a plain-Python count over the same rows, and the SQL
the answer shows is run to give the same number. The branch comes from the key: a manager of
branch A never sees branch B, and B's CSV answers 403.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from api.app import create_app
from api.auth import issue_api_key
from core.vocabulary import ApiRole
from db.models import Base, Lead, Purchase, Staff, Task
from db.types import utcnow
from insight.period import Period
from insight.registry import METRICS, compiled_sql, statement
from scripts.insight_seed import FORMULA_NAME
from sequences.vocabulary import StaffRole
from tests.conftest import bearer
from tests.conftest import test_settings as settings_for
from tests.insight.conftest import SeededStore, seed_store

ZONE = ZoneInfo("Asia/Kolkata")


@pytest.fixture(scope="module")
def branches(database):
    """Two branches with 60 days of history up to now (so "this week" has leads in both)."""
    start = utcnow() - timedelta(days=60)
    a = seed_store(database, leads=300, seed=5, start=start, days=60)
    b = seed_store(database, leads=200, seed=6, start=start, days=60)
    return a, b


@pytest.fixture(scope="module")
def client(database):
    app = create_app(settings_for(database.url, "unused"), database=database)
    return TestClient(app, raise_server_exceptions=False)


def manager_key(database, branch: SeededStore) -> str:
    manager = database.read(
        lambda s: s.scalar(
            select(Staff.id).where(
                Staff.store_id == branch.store_id, Staff.role == StaffRole.MANAGER
            )
        )
    )
    return issue_api_key(
        database, name="manager", role=ApiRole.ASSOCIATE, store_id=branch.store_id,
        staff_id=manager,
    )  # fmt: skip


def ask(client, key: str, question: str) -> dict:
    answer = client.post("/v1/questions", json={"question": question}, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    return answer.json()


def this_week() -> tuple[datetime, datetime]:
    today = utcnow().astimezone(ZONE).date()
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday, datetime.min.time(), ZONE).astimezone(UTC)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), ZONE).astimezone(UTC)
    return start, end


def leads_of(database, branch: SeededStore):
    return database.read(
        lambda s: s.execute(
            select(Lead.id, Lead.created_at, Lead.source, Lead.segment).where(
                Lead.store_id == branch.store_id
            )
        ).all()
    )


def run_shown_sql(database, answer: dict):
    return database.read(lambda s: s.execute(text(answer["sql"])).all())


def test_a_manager_asking_leads_this_week_counts_their_branch_only(database, branches, client):
    a, b = branches
    start, end = this_week()
    mine = sum(1 for _, at, _, _ in leads_of(database, a) if start <= at < end)
    theirs = sum(1 for _, at, _, _ in leads_of(database, b) if start <= at < end)
    assert mine > 0 and theirs > 0  # both branches had leads this week

    answer = ask(client, manager_key(database, a), "How many leads came in this week?")

    assert answer["kind"] == "answer" and answer["metric"] == "leads_created"
    assert answer["value"] == mine
    assert answer["period"]["start"] == start.isoformat()
    assert answer["period"]["end"] == end.isoformat()
    assert answer["sentence"].startswith("New leads, ") and f"{mine:,} leads" in answer["sentence"]
    assert run_shown_sql(database, answer)[0].value == mine


def test_leads_by_source_match_a_plain_count_and_the_shown_sql(database, branches, client):
    a, _ = branches
    now = utcnow()
    since = now.astimezone(ZONE).date() - timedelta(days=29)
    start = datetime.combine(since, datetime.min.time(), ZONE).astimezone(UTC)
    expected = Counter(src for _, at, src, _ in leads_of(database, a) if start <= at < now)

    answer = ask(client, manager_key(database, a), "leads by source in the last 30 days")

    assert {row["source"]: row["value"] for row in answer["rows"]} == dict(expected)
    shown = {row.source: row.value for row in run_shown_sql(database, answer)}
    assert shown == dict(expected)


def test_bridal_conversion_matches_a_plain_count_of_buyers(database, branches, client):
    a, _ = branches
    now = utcnow()
    start = now - timedelta(days=90)
    leads = {
        lead_id: at
        for lead_id, at, _, segment in leads_of(database, a)
        if segment == "bridal" and at >= start
    }
    sales = database.read(
        lambda s: s.execute(
            select(Purchase.lead_id, Purchase.purchased_at).where(Purchase.store_id == a.store_id)
        ).all()
    )
    buyers = {lid for lid, at in sales if lid in leads and leads[lid] <= at < now}

    answer = ask(client, manager_key(database, a), "bridal conversion in the last 3 months")

    assert answer["filters"] == {"segment": "bridal"}
    # the grammar's three months start the day after this day three months ago (store time)
    begun = datetime.fromisoformat(answer["period"]["start"])
    cohort = {lid for lid, at in leads.items() if at >= begun}
    assert (answer["numerator"], answer["denominator"]) == (
        len(buyers & cohort), len(cohort),
    )  # fmt: skip
    assert answer["display"].endswith("%") and "of" in answer["sentence"]
    row = run_shown_sql(database, answer)[0]
    assert (row.numerator, row.denominator) == (answer["numerator"], answer["denominator"])


def test_a_comparison_gives_the_previous_equal_period(database, branches, client):
    a, _ = branches
    key = manager_key(database, a)
    answer = ask(client, key, "leads last week compared with the week before")
    before = ask(client, key, "leads in the last 14 days")
    assert answer["previous"] is not None
    last_week = datetime.fromisoformat(answer["period"]["start"])
    plain = sum(
        1
        for _, at, _, _ in leads_of(database, a)
        if last_week - timedelta(days=7) <= at < last_week
    )
    assert answer["previous"]["value"] == plain
    assert "previous period" in answer["sentence"]
    assert before["kind"] == "answer"


def test_vague_and_unknown_questions_ask_back_or_suggest(database, branches, client):
    a, _ = branches
    key = manager_key(database, a)
    vague = ask(client, key, "how are we doing?")
    assert vague["kind"] == "clarify" and vague["choices"] and vague["sql"] is None
    unknown = ask(client, key, "what is the gold price in Mumbai tomorrow?")
    assert unknown["kind"] == "unknown" and len(unknown["choices"]) == 3
    assert unknown["sentence"].startswith("I can't answer that yet")


def test_another_branchs_csv_is_refused(database, branches, client):
    a, b = branches
    key = manager_key(database, a)
    refused = client.get(
        f"/v1/metrics/leads_created.csv?store_id={b.store_id}", headers=bearer(key)
    )
    assert refused.status_code == 403
    asked = client.post(
        "/v1/questions", json={"question": "leads this week", "store_id": str(b.store_id)},
        headers=bearer(key),
    )  # fmt: skip
    assert asked.status_code == 403


def test_the_csv_holds_the_metric_rows_and_a_formula_name_is_inert(database, branches, client):
    a, _ = branches
    key = manager_key(database, a)
    rows = client.get("/v1/metrics/leads_created.csv?period=last 3 months&by=source",
                      headers=bearer(key))  # fmt: skip
    assert rows.status_code == 200 and rows.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(rows.text.lstrip("\ufeff"))))
    assert {r["source"] for r in table} <= {"instagram", "web_form", "walk_in", "whatsapp",
                                            "qr", "referral"}  # fmt: skip
    assert sum(int(r["value"]) for r in table) == 300  # every lead is in the last 3 months

    leads = client.get("/v1/metrics/leads_created.csv?period=last 3 months&leads=true",
                       headers=bearer(key))  # fmt: skip
    names = [r["first_name"] for r in csv.DictReader(io.StringIO(leads.text.lstrip("\ufeff")))]
    assert "'" + FORMULA_NAME in names and FORMULA_NAME not in names


def test_a_bad_csv_request_names_what_is_wrong(database, branches, client):
    a, _ = branches
    key = manager_key(database, a)
    unknown = client.get("/v1/metrics/no_such_metric.csv", headers=bearer(key))
    assert unknown.status_code == 404
    bad_period = client.get("/v1/metrics/leads_created.csv?period=whenever", headers=bearer(key))
    assert bad_period.status_code == 422 and "period" in bad_period.text
    bad_dim = client.get("/v1/metrics/leads_created.csv?by=colour", headers=bearer(key))
    assert bad_dim.status_code == 422 and "colour" in bad_dim.text


def _row_counts(database) -> dict[str, int]:
    return database.read(
        lambda s: {
            t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
        }
    )


SQLISH = st.sampled_from([
    "'; DROP TABLE lead; --", "leads' OR '1'='1", "revenue; DELETE FROM purchase",
    "conversion UNION SELECT password_hash FROM staff_account", "leads by source) --",
    "SELECT * FROM lead", "leads this week\x00", "leads since 99/99/9999",
    "between 31 feb and 30 feb", "leads in the last 0 days", "q5 leads", "%s %d {}",
])  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(SQLISH, st.text(max_size=200), st.from_regex(r"[a-z ]{0,60}", fullmatch=True)))
def test_any_question_gets_an_answer_a_clarification_or_cant_answer_yet(
    database, branches, client, question
):
    a, _ = branches
    key = KEYS.setdefault(a.store_id, manager_key(database, a))
    before = _row_counts(database) if "drop" in question.lower() else None
    response = client.post("/v1/questions", json={"question": question}, headers=bearer(key))
    if not question or "\x00" in question or not _encodable(question):
        assert response.status_code == 422  # refused at the door, naming the field
        return
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["kind"] in {"answer", "clarify", "unknown"}
    if answer["kind"] == "answer":
        # the SQL is the registry's own statement for the parsed query, nothing from the text
        period = Period(
            datetime.fromisoformat(answer["period"]["start"]),
            datetime.fromisoformat(answer["period"]["end"]),
        )
        registry_sql = database.read(
            lambda s: compiled_sql(
                s,
                statement(
                    METRICS[answer["metric"]], period, store_ids=[a.store_id],
                    dimensions=answer["dimensions"], filters=answer["filters"],
                    now=period.end,
                ),
            )
        )  # fmt: skip
        assert _without_now(answer["sql"]) == _without_now(registry_sql)
    if before is not None:
        assert _row_counts(database) == before


KEYS: dict[uuid.UUID, str] = {}


def _encodable(text_: str) -> bool:
    try:
        text_.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _without_now(sql: str) -> str:
    """The statement with its instants blanked: "now" moves between two compilations."""
    return re.sub(r"'\d{4}-\d\d-\d\d[ T][0-9:.+]+'", "'…'", sql)


def test_open_tasks_per_associate_right_now_match_a_plain_count(database, branches, client):
    a, _ = branches
    rows = database.read(
        lambda s: s.execute(
            select(Staff.name, Task.status)
            .join(Staff, Staff.id == Task.assignee_id)
            .where(Task.store_id == a.store_id)
        ).all()
    )
    expected = Counter(name for name, status in rows if status in ("open", "acknowledged"))

    answer = ask(client, manager_key(database, a), "Which associate has the most open tasks now?")

    assert answer["metric"] == "open_tasks" and answer["dimensions"] == ["associate"]
    assert {row["associate"]: row["value"] for row in answer["rows"]} == dict(expected)
    assert " as of " in answer["sentence"]  # a snapshot: the state now, not a period's rows
    shown = {row.associate: row.value for row in run_shown_sql(database, answer)}
    assert shown == dict(expected)
