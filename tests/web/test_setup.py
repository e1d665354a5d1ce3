"""Store setup over httpx: an admin opens and changes branches and staff, invites a person,
makes and revokes API keys, and sees which providers carry each channel; bad input is
refused with the field named and changes nothing; a form without its CSRF token is refused."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from api.app import create_app
from core.vocabulary import ApiRole
from db.models import ApiKey, ChannelCheck, Staff, StaffAccount, Store
from domain import accounts, keys
from sequences.vocabulary import Channel, StaffRole
from tests.conftest import bearer
from tests.conftest import test_settings as settings_with
from tests.standin import provider_keys, twilio_error
from tests.web.people import PASSWORD, SECRET, csrf_of, make_account, signed_in, staff_of
from tests.web.setup_actions import STAFF_FORM, branch_form


def admin_of_every_branch(database) -> str:
    email = f"owner.{uuid.uuid4().hex[:8]}@example.com"
    now = datetime.now(UTC)

    def create(session) -> None:
        invitation = accounts.invite(session, SECRET, email=email, role=ApiRole.ADMIN, now=now)
        accounts.set_first_password(session, SECRET, invitation.token, PASSWORD, now)

    database.run(create)
    return email


@asynccontextmanager
async def _api(database, dev_server) -> AsyncIterator[httpx.AsyncClient]:
    """The API as a machine calls it: a new app process, with no memory of keys."""
    app = create_app(
        settings_with(database.url, "facet-console-test"),
        database=database,
        temporal=dev_server.client,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://facet.test") as http:
        yield http


def _count(database, model) -> int:
    return database.read(lambda s: s.scalar(select(func.count()).select_from(model)))


NEW_BRANCH = {
    "name": "Facet Miami",
    "timezone": "America/New_York",
    "country": "us",
    "region": "fl",
    "currency": "usd",
    "locale": "en",
    "address": "100 Biscayne Blvd, Miami FL 33132",
    "phone": "+1 305 555 0100",
    "max_per_day": "1",
    "max_per_week": "2",
}


async def test_an_admin_opens_a_branch_and_sees_its_quiet_hours(console, database):
    email = admin_of_every_branch(database)
    async with console() as http:
        me = await signed_in(http, email)
        answer = await me.post("/console/setup/branches", NEW_BRANCH)
        assert answer.status_code == 303
        store_id = uuid.UUID(answer.headers["location"].rsplit("/", 1)[1])
        page = await http.get(answer.headers["location"])
    store = database.read(lambda s: s.get_one(Store, store_id))
    assert (store.name, store.country, store.region, store.currency) == (
        "Facet Miami",
        "US",
        "FL",
        "USD",
    )
    assert (store.max_marketing_per_day, store.max_marketing_per_week) == (1, 2)
    assert store.address == "100 Biscayne Blvd, Miami FL 33132"
    # Florida's window, stricter than the federal one, follows from the country and state.
    assert "Mon–Sun 08:00–20:00" in page.text


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("timezone", "Mars/Olympus", "a time zone such as Asia/Kolkata"),
        ("country", "XX", "a two-letter country code"),
        ("currency", "rupees", "a three-letter currency code"),
        ("max_per_day", "0", "a whole number from 1 to 10"),
        ("max_per_week", "1", "at least as many as a day allows"),
        ("name", "  ", "this is needed"),
    ],
)
async def test_a_bad_branch_is_refused_with_the_field_named_and_nothing_saved(
    field, value, said, console, database, store
):
    email = admin_of_every_branch(database)
    before = _count(database, Store)
    async with console() as http:
        me = await signed_in(http, email)
        bad = {**NEW_BRANCH, "max_per_day": "2", "max_per_week": "3", field: value}
        answer = await me.post("/console/setup/branches", bad)
        assert answer.status_code == 422
        assert said.lower() in answer.text.lower()
        assert f'value="{value}"' in answer.text or field == "name"  # typed values kept
        edit = await me.post(
            f"/console/setup/branches/{store.id}",
            branch_form(store, **{"max_per_day": "2", "max_per_week": "3", field: value}),
        )
        assert edit.status_code == 422 and said.lower() in edit.text.lower()
    assert _count(database, Store) == before
    unchanged = database.read(lambda s: s.get_one(Store, store.id))
    assert (unchanged.name, unchanged.timezone, unchanged.country) == (
        store.name,
        store.timezone,
        store.country,
    )


async def test_a_branch_admin_changes_caps_but_cannot_open_or_see_another_branch(
    console, database, make_store
):
    mine, theirs = make_store(), make_store()
    email = make_account(database, mine, "admin")
    async with console() as http:
        me = await signed_in(http, email)
        changed = branch_form(mine, max_per_day="2", max_per_week="5", address="1 New Road")
        assert (await me.post(f"/console/setup/branches/{mine.id}", changed)).status_code == 303
        assert (await me.post("/console/setup/branches", NEW_BRANCH)).status_code == 403
        assert (await http.get(f"/console/setup/branches/{theirs.id}")).status_code == 404
        other = await me.post(f"/console/setup/branches/{theirs.id}", branch_form(theirs, name="x"))
        assert other.status_code == 404
        overview = await http.get("/console/setup")
        assert mine.name in overview.text and theirs.name not in overview.text
    row = database.read(lambda s: s.get_one(Store, mine.id))
    assert (row.max_marketing_per_day, row.max_marketing_per_week, row.address) == (
        2,
        5,
        "1 New Road",
    )
    assert database.read(lambda s: s.get_one(Store, theirs.id)).name == theirs.name


async def test_an_admin_adds_a_staff_member_who_signs_in_through_the_invite_link(
    console, database, store
):
    email = make_account(database, store, "admin")
    kavya_id = uuid.uuid4().hex[:8]
    async with console() as http:
        me = await signed_in(http, email)
        form = {
            **STAFF_FORM,
            "phone": "98450 11111",
            "email": f"Kavya.{kavya_id}@Example.com",
            "notice_channel": "whatsapp",
        }
        answer = await me.post(f"/console/setup/branches/{store.id}/staff", form)
        assert answer.status_code == 303, answer.text
        staff_id = uuid.UUID(answer.headers["location"].rsplit("/", 1)[1])
        invited = await me.post(f"/console/setup/staff/{staff_id}/invite", {"email": ""})
        assert invited.status_code == 200
        link = re.search(r'class="invite-link">([^<]+)<', invited.text)
        assert link, invited.text
    member = database.read(lambda s: s.get_one(Staff, staff_id))
    assert (member.role, member.expertise, member.languages, member.capacity) == (
        StaffRole.ASSOCIATE,
        ["bridal", "polki"],
        ["en", "ml"],
        12,
    )
    assert (member.phone_e164, member.email, member.notice_channel) == (
        "+919845011111",
        f"kavya.{kavya_id}@example.com",
        Channel.WHATSAPP,
    )
    path = httpx.URL(link[1]).path
    async with console() as kavya:
        page = await kavya.get(path)
        assert page.status_code == 200 and f"kavya.{kavya_id}@example.com" in page.text
        answer = await kavya.post(
            path,
            data={
                "csrf": csrf_of(page.text),
                "password": "a ring for every finger",
                "again": "a ring for every finger",
            },
        )
        assert answer.status_code == 303
        inbox = await kavya.get("/console/inbox")
        assert inbox.status_code == 200 and "Kavya Menon" in inbox.text
        assert (await kavya.get(path)).status_code == 410  # the link worked once


async def test_a_staff_member_made_inactive_can_no_longer_sign_in(console, database, store):
    email = make_account(database, store, "admin")
    priya = make_account(database, store, "associate")
    member = staff_of(database, store, StaffRole.ASSOCIATE)
    async with console() as http, console() as her:
        await signed_in(her, priya)
        me = await signed_in(http, email)
        form = {**STAFF_FORM, "name": member.name, "role": "associate", "active": ""}
        bad = await me.post(f"/console/setup/staff/{member.id}", {**form, "notice_channel": "sms"})
        assert bad.status_code == 422 and "notices by sms need a phone number" in bad.text.lower()
        assert database.read(lambda s: s.get_one(Staff, member.id)).active
        assert (await me.post(f"/console/setup/staff/{member.id}", form)).status_code == 303
        assert (await her.get("/console/inbox")).status_code == 303  # sent to sign in
    assert not database.read(lambda s: s.get_one(Staff, member.id)).active


async def test_an_api_key_is_shown_once_works_and_stops_working_when_revoked(
    console, database, store, dev_server
):
    email = make_account(database, store, "admin")
    async with console() as http:
        me = await signed_in(http, email)
        made = await me.post("/console/setup/keys", {"name": "till-3", "role": "pos"})
        assert made.status_code == 200
        key = re.search(r'class="new-key">(fct_[^<]+)<', made.text)
        assert key, made.text
        listing = await http.get("/console/setup/keys")
        assert key[1] not in listing.text and key[1][:12] in listing.text
        row = database.read(
            lambda s: s.scalars(select(ApiKey).where(ApiKey.prefix == key[1][:12])).one()
        )
        assert (row.role, row.store_id, row.key_hash != key[1]) == (ApiRole.POS, store.id, True)
        # A branch's admin makes keys for that branch only, and an associate key needs its person.
        refused = await me.post(
            "/console/setup/keys", {"name": "priya", "role": "associate", "store_id": str(store.id)}
        )
        assert refused.status_code == 422 and "acts for a staff member" in refused.text
        capture = {
            "store_id": str(store.id),
            "source": "pos",
            "first_name": "Asha",
            "email": f"asha.{uuid.uuid4().hex[:8]}@example.com",
        }
        async with _api(database, dev_server) as machine:
            lead = await machine.post("/v1/leads", json=capture, headers=bearer(key[1]))
            assert lead.status_code == 201, lead.text
        assert (await me.post(f"/console/setup/keys/{row.id}/revoke")).status_code == 303
        # A running API remembers keys it saw for up to 10 seconds; a new one refuses at once.
        async with _api(database, dev_server) as machine:
            again = await machine.post("/v1/leads", json=capture, headers=bearer(key[1]))
            assert again.status_code == 401
    assert database.read(lambda s: s.get_one(ApiKey, row.id)).revoked_at is not None


async def test_the_providers_shown_are_the_configured_ones_and_never_their_secrets(
    database, dev_server, store
):
    email = make_account(database, store, "admin")
    settings = settings_with(
        database.url,
        "facet-console-test",
        sendgrid_api_key=SecretStr("SG.very-secret-key"),
        sendgrid_from_email="hello@shop.example",
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token=SecretStr("twilio-secret-token"),
        twilio_sms_from="+15005550006",
    )
    app = create_app(settings, database=database, temporal=dev_server.client)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://facet.test") as http:
        await signed_in(http, email)
        page = (await http.get("/console/setup")).text
    said = {
        channel: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip()
        for channel, text in re.findall(r'data-channel="(\w+)">(.*?)</li>', page, re.S)
    }
    assert said["email"] == "Email: SendGrid, from hello@shop.example"
    assert said["sms"] == "SMS: Twilio, from +15005550006"
    assert said["whatsapp"].startswith("Whatsapp: the outbox")
    assert "TWILIO_WHATSAPP_FROM" in said["whatsapp"]
    for secret in ("SG.very-secret-key", "twilio-secret-token", "1" * 32):
        assert secret not in page


async def test_setup_forms_without_their_csrf_token_are_refused_and_change_nothing(
    console, database, store
):
    email = admin_of_every_branch(database)
    member = staff_of(database, store, StaffRole.DESIGNER)
    key = database.run(lambda s: keys.issue(s, name="till-1", role=ApiRole.POS, store_id=store.id))
    counted = [_count(database, m) for m in (Store, Staff, ApiKey)]
    async with console() as http:
        await signed_in(http, email)
        for path, data in (
            ("/console/setup/branches", NEW_BRANCH),
            (f"/console/setup/branches/{store.id}", branch_form(store, name="Renamed")),
            (f"/console/setup/branches/{store.id}/staff", STAFF_FORM),
            (f"/console/setup/staff/{member.id}", {**STAFF_FORM, "name": "Renamed"}),
            (f"/console/setup/staff/{member.id}/invite", {"email": "meera@example.com"}),
            ("/console/setup/keys", {"name": "till-2", "role": "pos"}),
            (f"/console/setup/keys/{key.key_id}/revoke", {}),
        ):
            for token in ({}, {"csrf": "forged"}):
                answer = await http.post(path, data={**data, **token})
                assert answer.status_code == 403, path
                assert "expired or did not come from this page" in answer.text
    assert [_count(database, m) for m in (Store, Staff, ApiKey)] == counted
    assert database.read(lambda s: s.get_one(Store, store.id)).name == store.name
    assert database.read(lambda s: s.get_one(Staff, member.id)).name == member.name
    assert database.read(lambda s: s.get_one(ApiKey, key.key_id)).revoked_at is None
    invited = database.read(
        lambda s: s.scalars(select(StaffAccount).where(StaffAccount.staff_id == member.id)).first()
    )
    assert invited is None


async def test_a_test_send_goes_through_the_configured_provider_and_says_what_it_said(
    database, dev_server, worker_for, standin, store
):
    email = make_account(database, store, "admin")
    async with worker_for(
        dev_server.client, settings_with(database.url, "unused", **provider_keys(standin))
    ) as queue:
        settings = settings_with(database.url, queue, **provider_keys(standin))
        app = create_app(settings, database=database, temporal=dev_server.client)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://facet.test") as http:
            me = await signed_in(http, email)
            # A number without its country code is read in the admin's branch (India).
            sent = await me.post(
                "/console/setup/test-send", {"channel": "sms", "to": "98450 22222"}
            )
            assert sent.status_code == 200
            assert "Sent through twilio" in sent.text
            standin.fail_next(twilio_error(21211))
            refused = await me.post(
                "/console/setup/test-send", {"channel": "whatsapp", "to": "+91 98450 33333"}
            )
            assert "Twilio refused it" in refused.text
            bad = await me.post(
                "/console/setup/test-send", {"channel": "email", "to": "not-an-email"}
            )
            assert bad.status_code == 422 and "not a valid email address" in bad.text.lower()
    texts = standin.accepted("/Messages.json")
    assert [r.form["To"] for r in texts] == ["+919845022222"]
    assert "Facet test message" in texts[0].form["Body"] or "test message" in texts[0].form["Body"]
    checks = database.read(
        lambda s: s.scalars(select(ChannelCheck).order_by(ChannelCheck.created_at)).all()
    )
    mine = [c for c in checks if c.recipient in ("+919845022222", "+919845033333")]
    assert [(c.channel, c.status, c.provider) for c in mine] == [
        (Channel.SMS, "sent", "twilio"),
        (Channel.WHATSAPP, "failed", "twilio"),
    ]
