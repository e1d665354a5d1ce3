"""The owner's weekly email on the time-skipping server, through the real SendGrid SDK to the
local stand-in: one email per branch per ISO week, however often the send is retried or the
week is run again; its CSV parses and holds the week's leads (a formula typed as a name made
inert); its HTML runs no script and loads no image from elsewhere."""

from __future__ import annotations

import base64
import csv
import io
import re
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from activities.payloads import WeeklyReportRequest, WeeklyReportResult
from activities.weekly_report import WeeklyReportActivities
from db.models import WeeklyReport as WeeklyReportRow
from db.repositories import WeeklyReportRepository
from db.types import utcnow
from insight.window import iso_week, last_full_week
from providers import registry
from tests.insight.seed import seed_branch
from tests.standin import Reply, settings_for
from tests.web.people import make_account
from workflows.schedules import ensure_weekly_report
from workflows.weekly_report import WeeklyReport, WeeklyReportInput


def _last_week_seed(database):
    """A branch whose leads arrived last week (in Asia/Kolkata), with an owner."""
    week = last_full_week(utcnow(), "Asia/Kolkata")
    seeded = database.run(lambda s: seed_branch(s, week.start + timedelta(days=3, hours=12)))
    owner = make_account(database, seeded.store, "admin")
    return seeded, owner, iso_week(week.start, "Asia/Kolkata")


async def _run(client, task_queue, store_id) -> WeeklyReportResult:
    return await client.execute_workflow(
        WeeklyReport.run,
        WeeklyReportInput(store_id=store_id),
        id=f"weekly-report-test-{uuid.uuid4()}",
        task_queue=task_queue,
        result_type=WeeklyReportResult,
    )


def _mails_to(standin, email: str) -> list[dict]:
    return [
        r.json
        for r in standin.accepted("/v3/mail/send")
        if any(to["email"] == email for p in r.json["personalizations"] for to in p["to"])
    ]


async def test_one_email_per_branch_per_week_even_when_the_send_is_retried(
    time_skipping, worker_for, database, standin
):
    first, first_owner, week = _last_week_seed(database)
    second, second_owner, _ = _last_week_seed(database)
    client = time_skipping.client
    standin.fail_next(Reply(503), Reply(429))  # SendGrid down twice: the activity retries
    async with worker_for(client, settings=settings_for(standin)) as task_queue:
        results = [await _run(client, task_queue, first.store.id)]
        results.append(await _run(client, task_queue, first.store.id))  # the week again
        results.append(await _run(client, task_queue, second.store.id))

    assert [r.status for r in results] == ["sent", "already_sent", "sent"]
    assert {r.iso_week for r in results} == {week}
    assert len(standin.requests) == 4  # two refused, then one email for each branch
    assert len(_mails_to(standin, first_owner)) == 1
    assert len(_mails_to(standin, second_owner)) == 1
    rows = database.read(
        lambda s: s.scalars(
            select(WeeklyReportRow).where(
                WeeklyReportRow.store_id.in_([first.store.id, second.store.id])
            )
        ).all()
    )
    # Recipients: the branch's own admin, and any admin of every branch (other tests may
    # have made one in this database).
    assert sorted((r.iso_week, r.status) for r in rows) == [(week, "sent"), (week, "sent")]
    assert all(r.recipients >= 1 for r in rows)


async def test_the_email_carries_a_csv_that_parses_and_html_without_scripts(
    time_skipping, worker_for, database, standin
):
    seeded, owner, week = _last_week_seed(database)
    client = time_skipping.client
    async with worker_for(client, settings=settings_for(standin)) as task_queue:
        assert (await _run(client, task_queue, seeded.store.id)).status == "sent"

    [mail] = _mails_to(standin, owner)
    assert week in mail["subject"] or "your week" in mail["subject"]
    [attachment] = mail["attachments"]
    assert attachment["filename"] == f"new-leads-{week}.csv" and attachment["type"] == "text/csv"
    text = base64.b64decode(attachment["content"]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["First name", "Last name", "Source", "Segment", "Created (UTC)"]
    assert len(rows) == 1 + 6  # the six leads of last week
    # the six arrived at the same instant, so the formula's row is any of them
    assert ['\'=HYPERLINK("x")', "", "instagram", "bridal"] in [row[:4] for row in rows[1:]]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    html = mail["content"][0]["value"]
    assert mail["content"][0]["type"] == "text/html"
    assert "<script" not in html.lower()
    assert re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.I) == []
    assert "<style" not in html  # the CSS is inlined into style="" attributes
    assert 'style="' in html
    # Last week's six leads against none the week before, drawn as table cells.
    assert re.search(
        r"<td[^>]*>New leads</td><td[^>]*><b>6 leads</b></td><td[^>]*>0 leads</td>", html
    )
    # Bars as table cells: Instagram 3, walk-in 1, web form 2 leads (widest = 100 %).
    assert re.findall(r'<td class="now"[^>]*width="(\d+)%"', html) == ["100", "33", "67"]


async def test_each_branch_gets_one_monday_schedule_kept_up_to_date(dev_server):
    client = dev_server.client
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    branch = uuid.uuid4()
    first = await ensure_weekly_report(client, "facet-test", branch, "Asia/Kolkata", prefix)
    again = await ensure_weekly_report(client, "facet-test", branch, "Asia/Kolkata", prefix)
    assert first == again == f"{prefix}-weekly-report:{branch}"
    handle = client.get_schedule_handle(first)
    try:
        spec = (await handle.describe()).schedule.spec
        assert spec.time_zone_name == "Asia/Kolkata"
        # The server may hand the cron back as a calendar: Monday (1), 08:00.
        fires = [
            (
                [r.start for r in c.day_of_week],
                [r.start for r in c.hour],
                [r.start for r in c.minute],
            )
            for c in spec.calendars
        ]
        assert spec.cron_expressions == ["0 8 * * 1"] or fires == [([1], [8], [0])], fires
        # The branch moves to New York: the same schedule, now at 08:00 there.
        await ensure_weekly_report(client, "facet-test", branch, "America/New_York", prefix)
        assert (await handle.describe()).schedule.spec.time_zone_name == "America/New_York"
        ids = [s.id async for s in await client.list_schedules() if s.id.startswith(prefix)]
        assert ids in ([], [first])  # visibility may lag; never a second one
    finally:
        await handle.delete()


def test_a_send_that_never_answered_is_not_sent_again(database, standin):
    """An attempt that called SendGrid and heard nothing left the week `sending`: the retry
    records outcome_unknown and calls nobody (a second email is worse than a missing one)."""
    seeded, _owner, week = _last_week_seed(database)
    database.run(lambda s: WeeklyReportRepository(s).claim(seeded.store.id, week))
    database.run(
        lambda s: s.execute(
            update(WeeklyReportRow)
            .where(WeeklyReportRow.store_id == seeded.store.id)
            .values(status="sending")
        )
    )
    activities = WeeklyReportActivities(database, registry.configured(settings_for(standin)))
    request = WeeklyReportRequest(store_id=seeded.store.id, at=utcnow())
    first = activities.send_weekly_report(request)
    again = activities.send_weekly_report(request)
    assert (first.status, first.reason) == ("failed", "outcome_unknown")
    assert (again.status, again.iso_week) == ("failed", week)
    assert standin.requests == []
