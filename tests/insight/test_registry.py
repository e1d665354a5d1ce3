"""The metric registry: one definition per number, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections import Counter
from datetime import date, timedelta
from itertools import combinations
from typing import Any

import pytest
from sqlalchemy import func, select, text

from db.migrate import migrate
from db.models import Enrollment, Lead, Purchase
from db.session import Database
from insight.period import Period
from insight.registry import METRICS, PANELS, Result, evaluate, nearest_rank
from tests.conftest import _fresh_postgres_database
from tests.insight.conftest import NOW, SeededStore, seed_store

ZONE = "Asia/Kolkata"
NOVEMBER = Period.of_days(date(2026, 11, 1), date(2026, 12, 1), ZONE, "this month")
AUTUMN = Period.of_days(date(2026, 8, 1), date(2026, 12, 1), ZONE, "since August")


def _summary(result: Result) -> dict[str, Any]:
    """What a person sees of a result: the numbers and each row's numbers (no ids, no SQL)."""

    def rounded(value: Any) -> Any:
        return round(value, 9) if isinstance(value, float) else value

    return {
        "value": rounded(result.value),
        "numerator": result.numerator,
        "denominator": result.denominator,
        "extra": {k: rounded(v) for k, v in result.extra.items()},
        "rows": [
            (row.keys, rounded(row.value), row.numerator, row.denominator,
             {k: rounded(v) for k, v in row.extra.items()})
            for row in result.rows
        ],
        "previous": _summary(result.previous) if result.previous else None,
    }  # fmt: skip


def _every_answer(database: Database, seeded: SeededStore) -> dict[str, Any]:
    answers: dict[str, Any] = {}

    def work(session):
        for metric in METRICS.values():
            dims = [(), *[(d,) for d in metric.dimensions], *combinations(metric.dimensions, 2)]
            for period in (NOVEMBER, AUTUMN):
                for dimensions in dims:
                    result = evaluate(
                        session, metric, period, store_ids=[seeded.store_id],
                        dimensions=dimensions, compare=True, now=NOW,
                    )  # fmt: skip
                    answers[f"{metric.name} {period.name} {dimensions}"] = _summary(result)

    database.read(work)
    return answers


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL")
def test_every_metric_gives_the_same_answer_on_sqlite_and_postgres(tmp_path):
    sqlite_url = f"sqlite:///{tmp_path / 'parity.db'}"
    postgres_url, drop = _fresh_postgres_database()
    try:
        answers = []
        for url in (sqlite_url, postgres_url):
            migrate(url)
            database = Database(url)
            try:
                answers.append(_every_answer(database, seed_store(database, leads=300)))
            finally:
                database.dispose()
        sqlite, postgres = answers
        assert sqlite.keys() == postgres.keys()
        different = [key for key in sqlite if sqlite[key] != postgres[key]]
        assert not different, f"{different[:3]}: {sqlite[different[0]]} != {postgres[different[0]]}"
        # and the answers are real numbers, not a field of Nones that would agree trivially
        assert sum(1 for a in sqlite.values() if a["value"]) > len(sqlite) / 2
    finally:
        drop()


def test_new_leads_this_month_are_the_leads_created_in_november_store_time(database, seeded_store):
    start, end = NOVEMBER.start, NOVEMBER.end
    rows = database.read(
        lambda s: s.execute(
            select(Lead.created_at, Lead.source).where(Lead.store_id == seeded_store.store_id)
        ).all()
    )
    expected = Counter(source for at, source in rows if start <= at < end)
    result = database.read(
        lambda s: evaluate(
            s, METRICS["leads_created"], NOVEMBER, store_ids=[seeded_store.store_id],
            dimensions=("source",), now=NOW,
        )
    )  # fmt: skip
    assert result.value == sum(expected.values()) > 0
    assert {row.keys["source"]: row.value for row in result.rows} == dict(expected)


def test_conversion_counts_cohort_leads_who_bought_after_arriving(database, seeded_store):
    def facts(session):
        leads = session.execute(
            select(Lead.id, Lead.created_at).where(Lead.store_id == seeded_store.store_id)
        ).all()
        sales = session.execute(
            select(Purchase.lead_id, Purchase.purchased_at).where(
                Purchase.store_id == seeded_store.store_id
            )
        ).all()
        return leads, sales

    leads, sales = database.read(facts)
    cohort = {lead_id: at for lead_id, at in leads if AUTUMN.start <= at < AUTUMN.end}
    buyers = {lid for lid, at in sales if lid in cohort and cohort[lid] <= at < NOW}
    result = database.read(
        lambda s: evaluate(
            s, METRICS["conversion"], AUTUMN, store_ids=[seeded_store.store_id], now=NOW
        )
    )
    assert (result.numerator, result.denominator) == (len(buyers), len(cohort))
    assert result.value == pytest.approx(len(buyers) / len(cohort))


def test_speed_to_lead_percentiles_are_nearest_rank_over_first_messages(database, seeded_store):
    result = database.read(
        lambda s: evaluate(
            s, METRICS["speed_to_lead_automated"], AUTUMN, store_ids=[seeded_store.store_id],
            now=NOW,
        )
    )  # fmt: skip
    assert result.extra["answered"] + result.extra["waiting"] == result.extra["of"] > 0
    assert sum(result.extra["bands"].values()) == result.extra["answered"]
    assert result.value is not None and result.extra["p90"] >= result.value
    assert nearest_rank([1, 2, 3, 4], 50) == 2 and nearest_rank([5], 90) == 5


def test_a_metric_never_counts_another_branch(database, seeded_store):
    other = seed_store(database, leads=50, seed=99)
    mine = database.read(
        lambda s: evaluate(
            s, METRICS["leads_created"], AUTUMN, store_ids=[seeded_store.store_id], now=NOW
        )
    )
    both = database.read(
        lambda s: evaluate(
            s, METRICS["leads_created"], AUTUMN,
            store_ids=[seeded_store.store_id, other.store_id], now=NOW,
        )
    )  # fmt: skip
    assert mine.value == 400 and both.value == 450


def test_the_sql_shown_gives_the_number_shown(database, seeded_store):
    for name in ("leads_created", "conversion", "revenue", "going_cold", "open_tasks"):
        result = database.read(
            lambda s, n=name: evaluate(
                s, METRICS[n], NOVEMBER, store_ids=[seeded_store.store_id], now=NOW
            )
        )
        row = database.read(lambda s, r=result: s.execute(text(r.sql)).one())
        if result.numerator is None:
            assert row.value == result.value, name
        else:
            assert (row.numerator, row.denominator) == (result.numerator, result.denominator)


def test_every_panel_has_a_metric_and_missing_data_says_so(database, seeded_store):
    assert {"inflow", "speed", "funnel", "cohort_curve", "appointments", "revenue",
            "journey_steps", "leaderboard", "going_cold", "pipeline", "messaging",
            "occasions"} <= PANELS.keys()  # fmt: skip
    gold = database.read(
        lambda s: evaluate(
            s, METRICS["gold_rate_alerts"], NOVEMBER, store_ids=[seeded_store.store_id]
        )
    )
    assert gold.value is None and "gold-rate" in gold.note


def test_going_cold_counts_silent_leads_in_a_journey(database, seeded_store):
    now = NOW + timedelta(days=200)  # everyone has been silent for months by then
    period = Period(now - timedelta(days=1), now, ZONE)
    result = database.read(
        lambda s: evaluate(
            s, METRICS["going_cold"], period, store_ids=[seeded_store.store_id], now=now
        )
    )

    def expected(session):
        return session.scalar(
            select(Lead.id)
            .where(Lead.store_id == seeded_store.store_id, Lead.stage != "purchase")
            .where(
                select(Enrollment.id)
                .where(Enrollment.lead_id == Lead.id, Enrollment.status == "active")
                .exists()
            )
            .with_only_columns(func.count())
        )

    assert result.value == database.read(expected) > 0
