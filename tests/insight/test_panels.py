"""The dashboard's panels over a seeded branch, read from the registry: the numbers a person
counts by hand from the rows in tests/insight/seed.py, on SQLite and (with
TEST_DATABASE_URL) PostgreSQL alike."""

from __future__ import annotations

from db.types import utcnow
from insight import panels
from insight.registry import METRICS, evaluate
from insight.window import window
from tests.insight.seed import seed_branch


def _scope(seeded, now, preset="30d"):
    return panels.Scope((seeded.store.id,), window(preset, now, "Asia/Kolkata"), now)


def _rows(panel):
    return {str(row[0]): row[1:] for row in panel.table.rows}


def test_the_panels_count_what_a_person_counts_by_hand(database):
    now = utcnow()
    seeded = database.run(lambda s: seed_branch(s, now))
    scope = _scope(seeded, now)
    built = database.read(lambda s: {p.key: p for p in panels.all_panels(s, scope)})
    assert len(built) == 12
    key = seeded.sequence_key

    inflow = built["lead_inflow"]
    assert inflow.table.columns == ["Source", "(none)", "bridal", "engagement", "Total"]
    assert _rows(inflow) == {
        "instagram": [0, 2, 1, 3],
        "walk_in": [1, 0, 0, 1],
        "web_form": [0, 0, 2, 2],
    }
    speed = built["speed_to_lead"]
    assert _rows(speed) == {
        "0–5 min": [1, 0],  # lead 1's WhatsApp at 3 minutes
        "5–15 min": [0, 1],  # Priya acknowledged lead 1's task at 10 minutes
        "15–60 min": [1, 0],  # lead 2's email at 20 minutes
        "60+ min": [1, 0],  # lead 4's email at 70 minutes
    }
    figures = dict(speed.figures)
    assert figures["Automated p50"] == "20 min 0 s" and figures["Human p50"] == "10 min 0 s"
    assert figures["No message yet"] == "3" and figures["No person yet"] == "5"
    assert _rows(built["funnel"]) == {
        "Arrived": [6, 100.0],
        "Engaged": [1, 16.7],
        "Booked an appointment": [1, 16.7],
        "Visited the store": [1, 16.7],
        "Conversion": [1, 16.7],
    }
    assert _rows(built["cohort_curves"])[now.strftime("%b %Y")][0] >= 6
    assert _rows(built["appointments"]) == {
        "Booked": [1],
        "Visited": [1],
        "Not visited (yet)": [0],
    }
    assert _rows(built["revenue"]) == {key: ["INR", 1, 125000.0, 125000.0]}
    assert _rows(built["journeys"]) == {key: [4, 3, 1, 1, 1]}  # sent, delivered, replied, …
    board = _rows(built["leaderboard"])
    # Priya owns lead 1 (who bought); of her two tasks one was acknowledged in time, the other
    # is open past its SLA.
    assert board["Priya"] == [1, 2, 50.0, 1, 1, 125000.0, 100.0]
    assert _rows(built["going_cold"]) == {"engagement": [1]}  # lead 7
    assert _rows(built["pipeline"])["bridal"] == [0, 2, 0, 0, 2]  # lead 1 bought
    assert _rows(built["messaging_health"]) == {"email": [3, 1, 33.3], "whatsapp": [1, 0, 0.0]}
    assert built["messaging_health"].extra.rows == [["no_consent", 1]]
    assert dict(built["messaging_health"].figures)["Opt-outs"] == "2"  # leads 3 and 8
    occasions = built["occasions"]
    assert occasions.table.rows == [] and occasions.chart is None
    assert "gold-rate alerts" in (occasions.missing or "").lower()


def test_every_cell_is_the_registrys_number(database):
    """A panel only lays out registry results: its cells equal `evaluate` called directly."""
    now = utcnow()
    seeded = database.run(lambda s: seed_branch(s, now))
    scope = _scope(seeded, now)

    def direct(name, *dims):
        return database.read(
            lambda s: evaluate(
                s, METRICS[name], scope.period, store_ids=[seeded.store.id], dimensions=dims,
                now=now,
            )
        )  # fmt: skip

    inflow = database.read(lambda s: panels.lead_inflow(s, scope))
    by_source = {r.keys["source"]: r.value for r in direct("leads_created", "source").rows}
    assert {row[0]: row[-1] for row in inflow.table.rows} == by_source
    sent = database.read(lambda s: panels.messaging_health(s, scope))
    assert sum(sent.table.column("Sent")) == direct("messages_sent").value


def test_each_chart_draws_exactly_its_tables_numbers(database):
    now = utcnow()
    seeded = database.run(lambda s: seed_branch(s, now))
    scope = _scope(seeded, now)
    drawn = 0
    for panel in database.read(lambda s: panels.all_panels(s, scope)):
        chart = panel.chart
        if panel.key == "occasions":
            assert chart is None  # no data yet: no chart, and the panel says why
            continue
        assert chart is not None, panel.key
        drawn += 1
        for dataset in chart["datasets"]:
            if panel.transpose:
                row = next(r for r in panel.table.rows if r[0] == dataset["label"])
                assert dataset["data"] == [row[panel.table.columns.index(s)] for s in panel.series]
            else:
                assert dataset["data"] == panel.table.column(dataset["label"]), panel.key
    assert drawn == 11


def test_the_kpi_strip_compares_with_the_thirty_days_before(database):
    now = utcnow()
    seeded = database.run(lambda s: seed_branch(s, now))
    strip = {k.metric: k for k in database.read(lambda s: panels.kpis(s, _scope(seeded, now)))}
    assert (strip["leads_created"].value, strip["leads_created"].before) == ("6 leads", "2 leads")
    assert strip["leads_created"].change == "+4"
    assert strip["conversion"].value == "16.7 %" and strip["conversion"].change == "+16.7 pts"
    assert strip["attributed_revenue"].value == "INR 125,000.00"
    assert strip["sla_breaches_open"].value == "1 task"
    assert strip["sla_breaches_open"].before is None  # a snapshot: now, nothing to compare
    assert strip["going_cold"].value == "1 lead"
    assert strip["speed_to_lead_automated"].value == "20 min 0 s"


def test_a_branch_counts_only_its_own_rows(database):
    now = utcnow()
    mine = database.run(lambda s: seed_branch(s, now))
    other = database.run(lambda s: seed_branch(s, now))
    alone = _scope(mine, now)
    both = panels.Scope((mine.store.id, other.store.id), alone.period, now)

    def leads(scope):
        return dict(database.read(lambda s: panels.lead_inflow(s, scope)).figures)["New leads"]

    assert (leads(alone), leads(both)) == ("6", "12")
