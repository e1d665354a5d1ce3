"""The owner's dashboard in a real browser (Debian's Chromium), at 1280×800 and 390×844:
every chart is drawn (its canvas has pixels), its table holds the numbers the registry gives
and the chart draws, the CSV beside it says the same, and nothing is fetched from elsewhere.
The ask box answers a question in place. Screenshots go to docs/screenshots/dashboard-*.png.
"""

from __future__ import annotations

import csv
import io

from playwright.sync_api import Page, expect

from db.types import utcnow
from insight import panels
from insight.window import window
from tests.insight.seed import seed_branch
from tests.web.people import PASSWORD, make_account

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _shown(cell: object) -> str:
    return "—" if cell is None else str(cell)


def _sign_in(page: Page, url: str, email: str) -> None:
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _inked_pixels(page: Page, key: str) -> int:
    """How many pixels of the panel's canvas are not transparent."""
    return int(
        page.evaluate(
            """key => {
                const canvas = document.querySelector(`[data-panel="${key}"] canvas`);
                const context = canvas.getContext("2d");
                const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
                let inked = 0;
                for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
                return inked;
            }""",
            key,
        )
    )


def _table(page: Page, key: str) -> list[list[str]]:
    return page.evaluate(
        """key => [...document.querySelectorAll(
                `[data-panel="${key}"] table.numbers:not(.extra) tbody tr`)]
              .map(tr => [...tr.children].map(cell => cell.textContent.trim()))""",
        key,
    )


def _drawn(page: Page, key: str) -> dict:
    """The labels and data Chart.js holds for the panel's canvas."""
    return page.evaluate(
        """key => {
            const chart = document.querySelector(`[data-panel="${key}"] canvas`)._chart;
            return {labels: chart.data.labels,
                    datasets: chart.data.datasets.map(d => ({label: d.label, data: d.data}))};
        }""",
        key,
    )


def test_the_dashboard_draws_every_chart_beside_the_registrys_numbers(
    live_server, live_database, offline_page, shoot
):
    page, _seen = offline_page
    now = utcnow()
    seeded = live_database.run(lambda s: seed_branch(s, now, name="Facet Demo Jewellers"))
    email = make_account(live_database, seeded.store, "admin")
    page.set_viewport_size(DESKTOP)
    _sign_in(page, f"{live_server}/console/sign-in?next=/console/dashboard", email)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("canvas[data-drawn='true']")).to_have_count(11)

    scope = panels.Scope((seeded.store.id,), window("30d", now, "Asia/Kolkata"), now)
    expected = {p.key: p for p in live_database.read(lambda s: panels.all_panels(s, scope))}
    assert len(expected) == 12
    for key, panel in expected.items():
        section = page.locator(f"[data-panel='{key}']")
        expect(section.get_by_role("heading")).to_contain_text(panel.title)
        if panel.chart is None:
            expect(section.locator(".missing")).to_be_visible()  # says its data is not there yet
            continue
        assert _inked_pixels(page, key) > 500, key
        assert _table(page, key) == [[_shown(c) for c in row] for row in panel.table.rows], key
        drawn = _drawn(page, key)
        assert drawn["labels"] == panel.chart["labels"], key
        assert drawn["datasets"] == panel.chart["datasets"], key
        answer = page.request.get(
            f"{live_server}{section.get_by_role('link', name='CSV').get_attribute('href')}"
        )
        assert answer.status == 200
        rows = list(csv.reader(io.StringIO(answer.body().decode("utf-8-sig"))))
        assert rows[0] == panel.table.columns
        assert rows[1:] == [["" if c is None else str(c) for c in row] for row in panel.table.rows]

    # The numbers a person checks against the seed: six new leads, one sale of ₹1,25,000.
    expect(page.locator("[data-kpi='New leads'] .kpi-value")).to_have_text("6 leads")
    expect(page.locator("[data-kpi='Revenue from journeys'] .kpi-value")).to_have_text(
        "INR 125,000.00"
    )
    shoot(page, "dashboard")

    # The ask box answers in place: the number, the sentence, the definition and the SQL.
    page.get_by_label("Ask in plain words").fill("how many leads in the last 7 days by source")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator("[data-answer='value']")).to_have_text("6 leads")
    expect(page.locator(".answer-sentence")).to_contain_text("New leads")
    expect(page.locator(".answer-rows tbody tr")).to_have_count(3)  # instagram, walk-in, web
    page.locator(".answer details summary").click()
    expect(page.locator("[data-answer='sql']")).to_contain_text("SELECT")
    page.locator(".ask").scroll_into_view_if_needed()
    shoot(page, "dashboard-ask")
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("[data-panel='leaderboard']").scroll_into_view_if_needed()
    shoot(page, "dashboard-leaderboard")

    # On a phone: one column, charts resized to the screen, wide tables scroll in their box.
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    widths = page.evaluate(
        "[...document.querySelectorAll('canvas[data-chart]')]"
        ".map(c => c.getBoundingClientRect().width)"
    )
    assert len(widths) == 11 and all(0 < w <= PHONE["width"] for w in widths)
    board = page.locator("[data-panel='leaderboard'] .table-scroll").first
    assert board.evaluate("box => box.scrollWidth > box.clientWidth")  # scrolls, not overflows
    assert _inked_pixels(page, "funnel") > 500


def test_marketing_reads_a_journeys_step_results_from_the_library(
    live_server, live_database, offline_page, shoot
):
    page, _seen = offline_page
    seeded = live_database.run(lambda s: seed_branch(s, utcnow(), name="Facet Demo Jewellers"))
    email = make_account(live_database, seeded.store, "marketing")
    page.set_viewport_size(DESKTOP)
    _sign_in(
        page, f"{live_server}/console/sign-in?next=/console/sequences/{seeded.sequence_key}", email
    )
    page.get_by_role("link", name="Results").click()
    expect(page.get_by_role("heading", name="Version 1 · Dashboard test journey")).to_be_visible()
    welcome = page.locator("tr[data-step='welcome']")
    expect(welcome.locator("td[data-column='Entered']")).to_have_text("4")
    expect(welcome.locator("td[data-column='Sent']")).to_have_text("3")
    expect(welcome.locator("td[data-column='Suppressed']")).to_have_text("1")
    expect(welcome).to_contain_text("no consent: 1")
    expect(page.locator("tr[data-exit='Goal reached'] td")).to_have_text("1")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "sequence-steps")
