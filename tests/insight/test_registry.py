"""The metric registry: one definition per number, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections import Counter
from datetime import date, timedelta
from itertools import combinations
from typing import Any

import pytest
from sqlalchemy import func, select, text

from core.vocabulary import JourneyStatus, Stage
from db.migrate import migrate
from db.models import Enrollment, Lead, Purchase
from db.session import Database
from insight.period import Period
from insight.registry import METRICS, PANELS, Result, evaluate, nearest_rank
from qualification.cold import cold_after_days
from qualification.scoring import ENGAGEMENT_KINDS
from tests.branch_rows import branch_rows
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


def _november_by(database, seeded_store, name: str, dimension: str) -> dict[Any, Any]:
    """The metric over NOVEMBER as of NOW, per value of `dimension` (its rows add up to it)."""
    result = database.read(
        lambda s: evaluate(
            s, METRICS[name], NOVEMBER, store_ids=[seeded_store.store_id],
            dimensions=(dimension,), now=NOW,
        )
    )  # fmt: skip
    counted = {row.keys[dimension]: row.value for row in result.rows}
    assert result.value == sum(counted.values())
    return counted


def test_new_leads_this_month_are_the_leads_created_in_november_store_time(database, seeded_store):
    start, end = NOVEMBER.start, NOVEMBER.end
    rows = database.read(
        lambda s: s.execute(
            select(Lead.created_at, Lead.source).where(Lead.store_id == seeded_store.store_id)
        ).all()
    )
    expected = Counter(source for at, source in rows if start <= at < end)
    assert _november_by(database, seeded_store, "leads_created", "source") == dict(expected)
    assert sum(expected.values()) > 0


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


def _old_sales(database, seeded_store, leads, purchases):
    """Two sales from the till's past, dated a day before their buyer arrived in Facet: one of
    a lead who also bought after arriving, one of a lead who never did."""
    bought = {p.lead_id for p in purchases}
    autumn = [lead for lead in leads if AUTUMN.start <= lead.created_at < AUTUMN.end]
    buyer = next(lead for lead in autumn if lead.id in bought)
    browser = next(lead for lead in autumn if lead.id not in bought)

    def add(session):
        for lead in (buyer, browser):
            session.add(
                Purchase(
                    store_id=seeded_store.store_id, lead_id=lead.id,
                    pos_transaction_id=f"old-{lead.id}", amount_minor=50_000_00, currency="INR",
                    purchased_at=lead.created_at - timedelta(days=1),
                )
            )  # fmt: skip

    database.run(add)


def _milliseconds(began, ended) -> float | None:
    return None if ended is None else max(0.0, round((ended - began).total_seconds() * 1000) / 1000)


def test_speed_to_lead_and_time_to_purchase_are_each_cohort_leads_first_rows(
    database, seeded_store
):
    """Counted here from each lead's messages, tasks and purchases (an old sale from before
    the lead arrived included), as of NOW: the registry, which reads what the lead row keeps,
    gives the same percentiles, waiting counts and bands."""
    before = branch_rows(database, seeded_store.store_id)
    _old_sales(database, seeded_store, before.leads, before.purchases)
    rows = branch_rows(database, seeded_store.store_id)
    leads, touches, tasks, purchases = rows.leads, rows.touches, rows.tasks, rows.purchases

    def first(values):
        found = [v for v in values if v is not None and v < NOW]
        return min(found) if found else None

    ended = {
        "speed_to_lead_automated": lambda lead: first(
            t.sent_at for t in touches if t.lead_id == lead.id and t.staff_id is None
        ),
        "speed_to_lead_human": lambda lead: first(
            t.acknowledged_at or t.completed_at for t in tasks if t.lead_id == lead.id
        ),
        "time_to_purchase": lambda lead: first(
            p.purchased_at
            for p in purchases
            if p.lead_id == lead.id and p.purchased_at >= lead.created_at
        ),
    }
    compared = 0
    for name, end in ended.items():
        metric = METRICS[name]
        for period in (NOVEMBER, AUTUMN):
            cohort = [lead for lead in leads if period.start <= lead.created_at < period.end]
            durations = [_milliseconds(lead.created_at, end(lead)) for lead in cohort]
            answered = sorted(d for d in durations if d is not None)
            result = database.read(
                lambda s, m=metric, p=period: evaluate(
                    s, m, p, store_ids=[seeded_store.store_id], now=NOW
                )
            )
            assert result.extra["of"] == len(cohort) > 0, name
            assert result.extra["waiting"] == len(durations) - len(answered), name
            assert result.value == nearest_rank(answered, 50), name
            assert result.extra["p90"] == nearest_rank(answered, 90), name
            compared += len(answered)
    assert compared > 300  # real durations, not a field of waiting leads


def test_going_cold_as_of_a_day_in_the_past_is_each_open_leads_silence(database, seeded_store):
    """As of NOW, with engagement recorded after it (the registry then asks the events, not
    the lead row), per segment: leads in a journey begun by now, not buyers, whose last
    engagement up to now (or arrival, with none) is at least their segment's days old."""
    rows = branch_rows(database, seeded_store.store_id)
    leads, events, journeys = rows.leads, rows.events, rows.enrollments
    assert any(e.occurred_at > NOW for e in events)  # the row's last engagement is too late

    def cold(lead) -> bool:
        engaged = [
            e.occurred_at
            for e in events
            if e.lead_id == lead.id and e.kind in ENGAGEMENT_KINDS and e.occurred_at <= NOW
        ]
        last = max(engaged, default=lead.created_at)
        in_journey = any(
            j.lead_id == lead.id and j.status is JourneyStatus.ACTIVE and j.started_at <= NOW
            for j in journeys
        )
        days = cold_after_days(lead.segment)
        return (
            in_journey
            and lead.created_at <= NOW
            and lead.stage not in (Stage.PURCHASE, Stage.POST_SALE)
            and last <= NOW - timedelta(days=days)
        )

    expected = Counter(lead.segment for lead in leads if cold(lead))
    assert _november_by(database, seeded_store, "going_cold", "segment") == dict(expected)
    assert sum(expected.values()) > 0
