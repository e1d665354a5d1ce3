"""The dashboard in the console: who sees it, which branch they see, the CSV beside each
panel (another branch's refused), and the step statistics reached from the library."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from sqlalchemy import update

from db.models import StaffAccount, Store
from db.types import utcnow
from tests.insight.seed import seed_branch
from tests.web.people import make_account, signed_in
from tests.web.setup_actions import branch_form
from tests.web.test_setup import NEW_BRANCH, admin_of_every_branch


def _two_branches(database):
    now = utcnow()
    a = database.run(lambda s: seed_branch(s, now, name="Branch A Jewellers"))
    b = database.run(lambda s: seed_branch(s, now, name="Branch B Jewellers"))
    return a, b


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # Excel reads the encoding from the BOM
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def test_a_manager_sees_only_their_own_branch_and_another_branchs_csv_is_refused(
    console, database
):
    a, b = _two_branches(database)
    email = make_account(database, a.store, "manager")
    async with console() as http:
        await signed_in(http, email)
        page = await http.get("/console/dashboard")
        assert page.status_code == 200
        assert "Branch A Jewellers" in page.text and "Branch B Jewellers" not in page.text
        assert '<option value="all"' not in page.text
        leads = re.search(r'data-kpi="New leads">.*?kpi-value">(\d+) leads<', page.text, re.S)
        assert leads and leads.group(1) == "6"  # branch A's six, not twelve

        mine = await http.get(f"/console/dashboard/lead_inflow.csv?branch={a.store.id}")
        assert mine.status_code == 200
        assert mine.headers["content-disposition"].startswith("attachment;")
        rows = _csv(mine.content)
        assert rows[0] == ["Source", "(none)", "bridal", "engagement", "Total"]
        assert rows[1] == ["instagram", "0", "2", "1", "3"]

        theirs = await http.get(f"/console/dashboard/lead_inflow.csv?branch={b.store.id}")
        assert theirs.status_code == 403
        assert "your own branch" in theirs.text
        every = await http.get("/console/dashboard?branch=all")
        assert every.status_code == 403
        page_b = await http.get(f"/console/dashboard?branch={b.store.id}")
        assert page_b.status_code == 403


async def test_an_admin_of_every_branch_sees_them_together_or_one_at_a_time(console, database):
    a, b = _two_branches(database)
    email = make_account(database, a.store, "admin")
    # An admin made for one store is limited to it; this one sees every branch.
    database.run(
        lambda s: s.execute(
            update(StaffAccount).where(StaffAccount.email == email).values(store_id=None)
        )
    )
    async with console() as http:
        await signed_in(http, email)
        one = await http.get(f"/console/dashboard?branch={b.store.id}&period=7d")
        assert one.status_code == 200 and "Branch B Jewellers" in one.text
        answer = await http.get(f"/console/dashboard/lead_inflow.csv?branch={b.store.id}&period=7d")
        assert _csv(answer.content)[1] == ["instagram", "0", "2", "1", "3"]
        together = await http.get("/console/dashboard?branch=all&period=7d")
        assert together.status_code == 200
        kpi = re.search(r'data-kpi="New leads">.*?kpi-value">(\d+) leads<', together.text, re.S)
        assert kpi and int(kpi.group(1)) >= 12  # every branch in this database


@pytest.mark.parametrize("role", ["associate", "marketing", "gemologist"])
async def test_staff_who_are_not_owners_or_managers_see_no_dashboard(console, database, role):
    a, _ = _two_branches(database)
    email = make_account(database, a.store, role)
    async with console() as http:
        await signed_in(http, email)
        assert (await http.get("/console/dashboard")).status_code == 403
        csv_answer = await http.get(f"/console/dashboard/funnel.csv?branch={a.store.id}")
        assert csv_answer.status_code == 403


async def test_a_bad_period_is_refused_naming_the_field(console, database):
    a, _ = _two_branches(database)
    email = make_account(database, a.store, "manager")
    async with console() as http:
        await signed_in(http, email)
        wrong = await http.get("/console/dashboard?period=fortnight")
        assert wrong.status_code == 422 and "period:" in wrong.text
        backwards = await http.get("/console/dashboard?period=custom&from=2026-11-10&to=2026-11-01")
        assert backwards.status_code == 422 and "to:" in backwards.text
        not_a_date = await http.get(
            "/console/dashboard?period=custom&from=10/11/2026&to=2026-11-01"
        )
        assert not_a_date.status_code == 422 and "from:" in not_a_date.text
        custom = await http.get("/console/dashboard?period=custom&from=2026-11-01&to=2026-11-30")
        assert custom.status_code == 200 and "Sun 1 – Mon 30 Nov 2026" in custom.text
        unknown = await http.get(f"/console/dashboard/nonsense.csv?branch={a.store.id}")
        assert unknown.status_code == 404


async def test_the_step_statistics_page_shows_the_counts_of_a_seeded_journey(console, database):
    a, _ = _two_branches(database)
    email = make_account(database, a.store, "marketing")
    async with console() as http:
        await signed_in(http, email)
        library = await http.get(f"/console/sequences/{a.sequence_key}")
        assert f'href="/console/sequences/{a.sequence_key}/steps"' in library.text
        page = await http.get(f"/console/sequences/{a.sequence_key}/steps")
    assert page.status_code == 200

    def row(step: str) -> dict[str, str]:
        found = re.search(rf'<tr data-step="{step}">(.*?)</tr>', page.text, re.S)
        assert found, step
        cells = re.findall(r'<td data-column="([^"]+)">(\d+)</td>', found.group(1))
        return dict(cells)

    welcome = row("welcome")
    # Four journeys got the welcome: one delivered, one replied, one bounced, one suppressed.
    assert welcome == {
        "Entered": "4",
        "Waiting now": "1",  # lead 2's journey, still active
        "Sent": "3",
        "Held": "0",
        "Suppressed": "1",
        "Delivered": "2",
        "Opened": "0",
        "Clicked": "0",
        "Replied": "1",
        "Failed": "1",
        "Opted out": "1",  # lead 3 opted out after it
    }
    assert "no consent: 1" in page.text
    follow_up = row("follow_up")
    assert (follow_up["Entered"], follow_up["Delivered"], follow_up["Opened"]) == ("1", "1", "1")
    assert follow_up["Clicked"] == "1" and follow_up["Waiting now"] == "0"
    assert row("call")["Entered"] == "0"
    exits = dict(
        re.findall(r'<tr data-exit="([^"]+)"><th scope="row">[^<]+</th><td>(\d+)</td>', page.text)
    )
    assert exits == {
        "Goal reached": "1",
        "Timed out (ran its last step)": "1",
        "Opted out": "1",
        "Left early (other)": "0",
        "Still active": "2",  # lead 2, and lead 7 (no message yet)
    }


async def test_the_ask_box_answers_for_the_managers_own_branch_only(console, database):
    a, b = _two_branches(database)
    email = make_account(database, a.store, "manager")
    async with console() as http:
        me = await signed_in(http, email)
        answer = await me.post(
            "/console/dashboard/ask", {"question": "how many leads in the last 7 days"}
        )
        assert answer.status_code == 200
        assert 'data-kind="answer"' in answer.text
        number = re.search(r'data-answer="value">([^<]+)<', answer.text)
        assert number and number.group(1) == "6 leads"  # branch A's six, not twelve
        sql = re.search(r'data-answer="sql">(.*?)</pre>', answer.text, re.S)
        assert sql and a.store.id.hex in sql.group(1).replace("-", "")
        assert b.store.id.hex not in sql.group(1).replace("-", "")
        # Naming another branch in the picker is refused; the words never choose a branch.
        other = await me.post(
            "/console/dashboard/ask", {"question": "leads this week", "branch": str(b.store.id)}
        )
        assert other.status_code == 403
        sneaky = await me.post(
            "/console/dashboard/ask", {"question": f"leads in branch {b.store.id}"}
        )
        assert sneaky.status_code == 200 and b.store.id.hex not in sneaky.text.replace("-", "")
        weird = await me.post("/console/dashboard/ask", {"question": "'; drop table lead;--"})
        assert weird.status_code == 200 and 'data-kind="unknown"' in weird.text
        empty = await me.post("/console/dashboard/ask", {"question": "  "})
        assert empty.status_code == 422 and "question:" in empty.text


async def test_opening_a_branch_schedules_its_monday_report_and_a_move_updates_it(
    console, database, dev_server
):
    email = admin_of_every_branch(database)
    async with console() as http:
        me = await signed_in(http, email)
        opened = await me.post("/console/setup/branches", NEW_BRANCH)
        assert opened.status_code == 303
        store_id = uuid.UUID(opened.headers["location"].rsplit("/", 1)[1])
        handle = dev_server.client.get_schedule_handle(f"facet-weekly-report:{store_id}")
        try:
            spec = (await handle.describe()).schedule.spec
            assert spec.time_zone_name == "America/New_York"
            store = database.read(lambda s: s.get_one(Store, store_id))
            moved = await me.post(
                f"/console/setup/branches/{store_id}",
                branch_form(store, timezone="America/Chicago"),
            )
            assert moved.status_code == 303
            spec = (await handle.describe()).schedule.spec
            assert spec.time_zone_name == "America/Chicago"
        finally:
            await handle.delete()
