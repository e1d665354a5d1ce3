"""The dashboard's panels over a seeded branch: the numbers a person counts by hand from the
rows in tests/insight/seed.py, on SQLite and (with TEST_DATABASE_URL) PostgreSQL alike."""

from __future__ import annotations

from db.types import utcnow
from insight import panels
from insight.window import window
from tests.insight.seed import seed_branch


def _scope(database, seeded, now, preset="30d"):
    return panels.Scope(
        (seeded.store.id,), window(preset, now, "Asia/Kolkata"), now, "Asia/Kolkata"
    )


def _rows(panel):
    return {str(row[0]): row[1:] for row in panel.table.rows}


def test_the_panels_count_what_a_person_counts_by_hand(database):
    now = utcnow()
    seeded = database.run(lambda s: seed_branch(s, now))
    scope = _scope(database, seeded, now)
    built = database.read(lambda s: {p.key: p for p in panels.all_panels(s, scope)})
    assert len(built) == 12

    inflow = built["lead_inflow"]
    assert inflow.table.columns == ["Source", "bridal", "engagement", "no segment", "Total"]
    assert _rows(inflow) == {
        "instagram": [2, 1, 0, 3],
        "walk in": [0, 0, 1, 1],
        "web form": [0, 2, 0, 2],
    }

    speed = built["speed_to_lead"]
    assert _rows(speed) == {
        "0–5 min": [1, 0],
        "5–15 min": [0, 1],
        "15–60 min": [1, 0],
        "60+ min": [1, 0],
    }
    assert dict(speed.figures)["Automated p50"] == "20 min"
    assert dict(speed.figures)["Human p50"] == "10 min"
    assert dict(speed.figures)["No human contact yet"] == "5"

    assert _rows(built["funnel"]) == {
        "Captured": [6, 100.0],
        "Engaged": [1, 16.7],
        "Appointment booked": [1, 16.7],
        "Store visit": [1, 16.7],
        "Purchased": [1, 16.7],
    }
    assert _rows(built["appointments"]) == {
        "Booked in the period": [1],
        "Due in the period": [1],
        "Showed": [1],
        "No-show": [0],
    }
    assert _rows(built["revenue"]) == {seeded.sequence_key: ["INR", 1, 125000.0, 125000.0]}
    assert _rows(built["journeys"]) == {seeded.sequence_key: [4, 3, 1, 1, 1]}

    board = _rows(built["leaderboard"])
    assert board["Priya (associate)"] == [1, 2, 100.0, 9.0, 1, 1, 125000.0, 100.0]
    assert board["Rahul (manager)"] == [0, 0, None, None, 0, 0, 0.0, None]

    assert _rows(built["going_cold"]) == {"engagement": [1]}
    assert _rows(built["pipeline"])["bridal"] == [0, 2, 0, 0, 2]  # lead 1 bought
    assert _rows(built["messaging_health"]) == {
        "email": [3, 1, 33.3, 0, 0, 0.0],
        "sms": [0, 0, None, 1, 1, None],
        "whatsapp": [1, 0, 0.0, 0, 0, 0.0],
    }
    assert _rows(built["occasions"]) == {"anniversary": [1], "wedding": [1]}
    assert "gold-rate" in (built["occasions"].missing or "").lower()


def test_each_chart_draws_exactly_its_tables_numbers(database):
    now = utcnow()
    seeded = database.run(lambda s: seed_branch(s, now))
    scope = _scope(database, seeded, now)
    for panel in database.read(lambda s: panels.all_panels(s, scope)):
        chart = panel.chart
        assert chart is not None, panel.key
        for dataset in chart["datasets"]:
            if panel.transpose:
                row = next(r for r in panel.table.rows if r[0] == dataset["label"])
                assert dataset["data"] == [row[panel.table.columns.index(s)] for s in panel.series]
            else:
                assert dataset["data"] == panel.table.column(dataset["label"]), panel.key


def test_the_kpi_strip_compares_with_the_thirty_days_before(database):
    now = utcnow()
    seeded = database.run(lambda s: seed_branch(s, now))
    scope = _scope(database, seeded, now)
    strip = {k.label: k for k in database.read(lambda s: panels.kpis(s, scope))}
    assert strip["Leads"].value == "6" and strip["Leads"].before == "2"
    assert strip["Leads"].change == "+200 %"
    assert strip["Conversion"].value == "16.7 %" and strip["Conversion"].before == "0 %"
    assert strip["Attributed revenue"].value == "INR 125,000.00"
    assert strip["Open SLA breaches"].value == "1" and strip["Open SLA breaches"].before is None
    assert strip["Going cold now"].value == "1"
    assert strip["Human response p50"].value == "10 min"


def test_a_branch_counts_only_its_own_rows(database):
    now = utcnow()
    mine = database.run(lambda s: seed_branch(s, now))
    other = database.run(lambda s: seed_branch(s, now))
    alone = _scope(database, mine, now)
    both = panels.Scope((mine.store.id, other.store.id), alone.window, now, "Asia/Kolkata")
    assert database.read(lambda s: panels.leads_total(s, alone)) == 6
    assert database.read(lambda s: panels.leads_total(s, both)) == 12
