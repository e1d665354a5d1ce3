"""Finding a lead by what a person has to hand, and the lead's page."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from api.app import create_app
from core.vocabulary import ApiRole, ConsentStatus, JourneyStatus
from db.models import Consent, Enrollment, Event, Lead, StaffAccount
from db.types import utcnow
from sequences.vocabulary import Channel, Purpose
from tests.conftest import api_client, bearer
from tests.conftest import test_settings as settings_for
from tests.factories import add_event, enroll, indian_mobile, make_lead, touches
from tests.web.people import make_account, signed_in

PHONE = "+919845012345"


@pytest.mark.parametrize(
    "typed",
    ["98450 12345", "+91 98450-12345", "098450 12345", "(98450) 12345", "919845012345"],
)
async def test_a_phone_typed_any_way_finds_the_lead(typed, console, database, make_store):
    store = make_store()
    lead = make_lead(database, store, phone=PHONE)
    make_lead(database, store)  # someone else
    async with console() as http:
        await signed_in(http, make_account(database, store, "associate"))
        page = (await http.get("/console/leads", params={"q": typed})).text
    assert page.count('class="row"') == 1 and f"/console/leads/{lead}" in page


async def test_a_name_or_an_email_finds_the_lead_and_filters_narrow(console, database, store):
    lead = make_lead(database, store, email="asha.k@example.com")
    async with console() as http:
        await signed_in(http, make_account(database, store, "manager"))
        for typed in ("asha", "ASHA.K@example.com"):
            page = (await http.get("/console/leads", params={"q": typed})).text
            assert f"/console/leads/{lead}" in page, typed
        page = (await http.get("/console/leads", params={"q": "asha", "stage": "purchase"})).text
        assert f"/console/leads/{lead}" not in page and "No lead matches" in page
        partial = await http.get(
            "/console/leads",
            params={"q": "asha"},
            headers={"HX-Request": "true", "HX-Target": "results"},
        )
        assert partial.text.lstrip().startswith('<section id="results"')


async def test_the_leads_page_shows_consent_and_the_timeline(console, database, store):
    lead = make_lead(database, store, phone=PHONE)
    async with console() as http:
        await signed_in(http, make_account(database, store, "associate"))
        page = (await http.get(f"/console/leads/{lead}")).text
    assert "Asha" in page and "+91 98450 12345" in page
    assert page.count("· marketing ·") == 2  # email and WhatsApp consent, from the factory
    assert "Timeline" in page


async def test_the_leads_page_shows_what_she_told_us(console, database, store):
    lead = make_lead(database, store, phone=PHONE)

    def told(session):
        row = session.get_one(Lead, lead)
        row.budget_minor, row.budget_currency = 30_000_000, "INR"
        row.metals, row.styles = ["platinum"], ["solitaire", "vintage"]
        row.occasion_dates = {"wedding": "2027-02-14"}

    database.run(told)
    async with console() as http:
        await signed_in(http, make_account(database, store, "associate"))
        page = (await http.get(f"/console/leads/{lead}")).text
    assert "<dt>Budget</dt><dd>INR 300,000.00</dd>" in page
    assert "<dt>Style</dt><dd>solitaire, vintage</dd>" in page
    assert "<dt>Metals</dt><dd>platinum</dd>" in page
    assert "<dt>Wedding</dt><dd>2027-02-14</dd>" in page


async def test_a_note_is_recorded_once_and_a_spoken_opt_out_stops_the_channel(
    console, database, store
):
    lead = make_lead(database, store, phone=PHONE)
    form_id = str(uuid.uuid4())
    async with console() as http:
        me = await signed_in(http, make_account(database, store, "associate"))
        for _ in range(2):  # a double submit
            answer = await me.post(
                f"/console/leads/{lead}/events",
                {"kind": "note", "text": "Prefers evenings", "form_id": form_id},
            )
            assert answer.status_code == 303
        refused = await me.post(
            f"/console/leads/{lead}/events", {"kind": "purchase", "form_id": str(uuid.uuid4())}
        )
        assert refused.status_code == 422
        stop = await me.post(
            f"/console/leads/{lead}/opt-out", {"channel": "whatsapp", "form_id": form_id}
        )
        assert stop.status_code == 303
        page = (await http.get(f"/console/leads/{lead}")).text
    events = database.read(lambda s: s.scalars(select(Event).where(Event.lead_id == lead)).all())
    assert sorted(e.kind for e in events) == ["note", "opted_out"]
    note = next(e for e in events if e.kind == "note")
    assert note.payload["text"] == "Prefers evenings" and note.source == "console"
    whatsapp = database.read(
        lambda s: s.scalars(
            select(Consent).where(
                Consent.lead_id == lead,
                Consent.channel == Channel.WHATSAPP,
                Consent.purpose == Purpose.MARKETING,
            )
        ).one()
    )
    assert whatsapp.status is ConsentStatus.REVOKED
    assert whatsapp.revoked_via.startswith("said to ")
    stop_event = next(e for e in events if e.kind == "opted_out")
    assert stop_event.payload["captured_by"] and stop_event.source == "console"
    assert "Prefers evenings" in page and "revoked" in page and "(said to " in page
    # The consent history keeps the grant and the stop, each with who recorded it.
    assert "Granted</span>: whatsapp marketing" in page
    assert "Revoked</span>: whatsapp marketing" in page and "by staff (" in page


async def test_going_cold_lists_the_silent_leads_in_a_journey(console, database, store):
    long_ago = utcnow() - timedelta(days=60)
    silent, lively = make_lead(database, store), make_lead(database, store)
    for lead, at in ((silent, long_ago), (lively, utcnow())):
        enroll(database, lead, enrolled_at=long_ago)
        add_event(database, store, lead, "enquiry", {"message": "rings"}, at=at)
    async with console() as http:
        await signed_in(http, make_account(database, store, "associate"))
        page = (await http.get("/console/leads", params={"cold": "1"})).text
    assert f"/console/leads/{silent}" in page and f"/console/leads/{lively}" not in page


async def test_a_new_segment_starts_its_journey_and_a_date_its_countdown(console, database, store):
    lead = make_lead(database, store)
    async with console() as http:
        me = await signed_in(http, make_account(database, store, "associate"))
        assert (
            await me.post(f"/console/leads/{lead}/segment", {"segment": "bridal"})
        ).status_code == 303
        answer = await me.post(
            f"/console/leads/{lead}/occasions", {"occasion": "anniversary", "day": "2016-06-14"}
        )
        assert answer.status_code == 303
        for bad in (
            {"occasion": "anniversary", "day": "14/06"},
            {"occasion": "divorce", "day": "2016-06-14"},
        ):
            assert (await me.post(f"/console/leads/{lead}/occasions", bad)).status_code == 422
        assert (
            await me.post(f"/console/leads/{lead}/segment", {"segment": "vip"})
        ).status_code == 422
    row = database.read(lambda s: s.get_one(Lead, lead))
    assert row.segment == "bridal" and row.segment_reason.startswith("set by ")
    assert row.occasion_dates == {"anniversary": "2016-06-14"}
    journeys = database.read(
        lambda s: s.scalars(select(Enrollment.sequence_key).where(Enrollment.lead_id == lead)).all()
    )
    assert sorted(journeys) == ["anniversary_countdown", "bridal"]


async def test_an_admin_of_every_branch_narrows_to_one(console, database, make_store):
    north, south = make_store(), make_store()
    here, there = make_lead(database, north), make_lead(database, south)
    name = f"Zoya{uuid.uuid4().hex[:6]}"  # only these two, whatever else the database holds
    for lead in (here, there):
        database.run(lambda s, lead=lead: setattr(s.get_one(Lead, lead), "first_name", name))
    email = make_account(database, north, "admin")
    database.run(
        lambda s: setattr(
            s.scalars(select(StaffAccount).where(StaffAccount.email == email)).one(),
            "store_id",
            None,
        )
    )
    async with console() as http:
        await signed_in(http, email)
        every = (await http.get("/console/leads", params={"q": name})).text
        assert north.name in every  # the branch filter lists the branches
        one = (await http.get("/console/leads", params={"q": name, "branch": str(south.id)})).text
    assert f"/console/leads/{here}" in every and f"/console/leads/{there}" in every
    assert f"/console/leads/{there}" in one and f"/console/leads/{here}" not in one


async def test_a_namesake_is_offered_and_merged_from_the_leads_page(console, database, store):
    keep, twin = make_lead(database, store), make_lead(database, store)
    async with console() as http:
        me = await signed_in(http, make_account(database, store, "associate"))
        page = (await http.get(f"/console/leads/{keep}")).text
        assert "The same person?" in page and f'name="other" value="{twin}"' in page
        answer = await me.post(f"/console/leads/{keep}/merge", {"other": str(twin)})
        assert answer.status_code == 303
        assert (await http.get(f"/console/leads/{twin}")).status_code == 404
        again = await me.post(f"/console/leads/{keep}/merge", {"other": str(twin)})
        assert again.status_code == 404
    assert database.read(lambda s: s.get(Lead, twin)) is None


async def test_the_leads_page_shows_each_run_of_a_journey_and_its_credit(console, database, store):
    lead = make_lead(database, store)
    first, _ = enroll(database, lead, key="post_purchase")
    second, _ = enroll(database, lead, key="post_purchase")

    def runs(session) -> None:
        for workflow_id, run, status in (
            (first, 1, JourneyStatus.SUPERSEDED),
            (second, 2, JourneyStatus.ACTIVE),
        ):
            row = session.scalars(
                select(Enrollment).where(Enrollment.workflow_id == workflow_id)
            ).one()
            row.run, row.status = run, status
            if run == 1:
                row.outcome, row.revenue_minor, row.currency = "new_run", 1_50_000_00, "INR"

    database.run(runs)
    async with console() as http:
        await signed_in(http, make_account(database, store, "associate"))
        page = (await http.get(f"/console/leads/{lead}")).text

    assert "post purchase</b> · superseded (new run)" in page.replace("_", " ")
    assert "post purchase</b> · run 2 · active" in page
    assert "credited INR 150,000.00" in page


async def test_a_segment_set_by_staff_supersedes_the_old_segments_journey(
    database, store, dev_server, worker_for
):
    lead = make_lead(database, store)
    async with worker_for(dev_server.client) as task_queue:
        app = create_app(
            settings_for(database.url, task_queue), database=database, temporal=dev_server.client
        )
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://facet.test") as http:
            me = await signed_in(http, make_account(database, store, "associate"))
            for segment in ("engagement", "bridal"):
                changed = await me.post(f"/console/leads/{lead}/segment", {"segment": segment})
                assert changed.status_code == 303, changed.text
            old = dev_server.client.get_workflow_handle(f"journey:{lead}:engagement_ring")
            ended = await old.result()

    assert (ended["status"], ended["outcome"]) == ("superseded", "segment_changed")
    statuses = database.read(
        lambda s: dict(
            s.execute(
                select(Enrollment.sequence_key, Enrollment.status).where(Enrollment.lead_id == lead)
            ).all()
        )
    )
    assert statuses == {"engagement_ring": "superseded", "bridal": "active"}


async def test_an_associate_records_the_first_scheme_instalment_and_the_reminders_start(
    dev_server, database, store, api_key, worker_for
):
    """The counter takes the first gold-scheme payment; the associate records it on the
    lead's page, and the customer hears that her scheme is open."""
    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(database, dev_server.client, task_queue) as api,
    ):
        captured = await api.post(
            "/v1/leads",
            headers=bearer(api_key(ApiRole.POS)),
            json={
                "store_id": str(store.id),
                "source": "walk_in",
                "first_name": "Lata",
                "phone": indian_mobile(),
                "segment": "gold_scheme",
                "preferred_channel": "sms",
                "consent": {"sms": True, "evidence": "counter tablet"},
            },
        )
        assert captured.status_code == 201, captured.text
        lead = uuid.UUID(captured.json()["lead_id"])
        app = create_app(
            settings_for(database.url, task_queue), database=database, temporal=dev_server.client
        )
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://facet.test") as http:
            me = await signed_in(http, make_account(database, store, "associate"))
            page = (await http.get(f"/console/leads/{lead}")).text
            assert "Gold scheme instalment paid" in page
            answer = await me.post(
                f"/console/leads/{lead}/events",
                {
                    "kind": "scheme_instalment",
                    "text": "1 of 11, cash",
                    "form_id": str(uuid.uuid4()),
                },
            )
            assert answer.status_code == 303

        sent: list[str] = []
        for _ in range(200):
            sent = [  # through a provider, or into the outbox when none is set
                t.template for t in touches(database, lead) if t.status.value in {"sent", "outbox"}
            ]
            if "gold_scheme/scheme_opened" in sent:
                break
            await asyncio.sleep(0.05)
    assert sent == ["gold_scheme/welcome", "gold_scheme/scheme_opened"]
    journeys = database.read(
        lambda s: s.scalars(select(Enrollment.workflow_id).where(Enrollment.lead_id == lead)).all()
    )
    assert {wid.rsplit(":", 1)[1] for wid in journeys} == {"gold_scheme", "gold_scheme_instalments"}


async def test_likely_duplicates_are_listed_with_reasons_and_merged_from_the_console(
    console, database, store
):
    def named(lead_id, **values):
        def change(s):
            lead = s.get_one(Lead, lead_id)
            for name, value in values.items():
                setattr(lead, name, value)

        database.run(change)

    keep = make_lead(database, store, email="meera.iyer@gmail.com", phone=None)
    twin = make_lead(database, store, email="meera.iyer+offers@gmail.com", phone=None)
    named(keep, first_name="Meera", last_name="Iyer", occasion_dates={"birthday": "1991-07-02"})
    named(twin, first_name="Meera", last_name="Iyer", occasion_dates={"birthday": "1991-07-02"})
    stranger = make_lead(database, store)  # another Asha, with her own phone and email
    async with console() as http:
        me = await signed_in(http, make_account(database, store, "associate"))
        page = (await http.get("/console/leads/duplicates")).text
        assert f'name="other" value="{twin}"' in page
        assert "Same mailbox; same name and birthday" in page
        assert f'value="{stranger}"' not in page
        answer = await me.post(f"/console/leads/{keep}/merge", {"other": str(twin)})
        assert answer.status_code == 303
        after = (await http.get("/console/leads/duplicates")).text
        assert f'value="{twin}"' not in after
        lead_page = (await http.get(f"/console/leads/{keep}")).text
    assert "Merged with a duplicate lead (Meera Iyer)" in lead_page
    note = database.read(
        lambda s: s.scalars(select(Event).where(Event.lead_id == keep, Event.kind == "note")).one()
    )
    assert note.payload["merged_lead_id"] == str(twin) and note.payload["merged_by"]
