"""Hosted enquiry forms over httpx, on the real app: what a visitor sends becomes a lead the
way `POST /v1/leads` makes one; abuse is refused in plain words and creates nothing; the QR
codes carry the form's exact address."""

from __future__ import annotations

import io
import re
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
import segno
import zxingcpp
from fastapi import Request
from sqlalchemy import select

from api.app import create_app
from core.signing import sign
from core.vocabulary import ConsentStatus, LeadSource
from db.models import Consent, Enrollment, Event, Lead
from sequences.vocabulary import Channel
from tests.conftest import test_settings as settings_for
from tests.factories import indian_mobile
from tests.web.people import ROLES, make_account, signed_in
from tests.web.pngs import png_pixels
from tests.web.test_static import _outside
from web.capture import CaptureLimits, Form, form_of_token, form_token

PUBLIC = "https://shop.facet.example"
_TOKEN = re.compile(r'name="token" value="([^"]+)"')
WORDING = (
    "may send me news, offers and reminders about jewellery on the channels I ticked. "
    "I can reply STOP or unsubscribe at any time."
)

Visitor = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app(dev_server, database):
    return create_app(
        settings_for(database.url, "facet-capture-test", public_base_url=PUBLIC),
        database=database,
        temporal=dev_server.client,
    )


@pytest.fixture
def visitor(app) -> Visitor:
    """`async with visitor("198.51.100.7") as http:` — a browser at that address."""

    @asynccontextmanager
    async def client(address: str = "198.51.100.7") -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
            yield http

    return client


def token_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the form has no token"
    return found.group(1)


def leads_of(database, store) -> list[Lead]:
    return list(
        database.read(lambda s: s.scalars(select(Lead).where(Lead.store_id == store.id)).all())
    )


def enquiry(token: str, **fields: str | list[str]) -> dict:
    return {
        "token": token,
        "name": "Asha Kapoor",
        "phone": "98450 12345",
        "email": "",
        "interest": "engagement",
        "message": "An oval solitaire, platinum",
        "reply_by": "whatsapp",
        "consent": ["whatsapp"],
        "website": "",
        **fields,
    }


async def test_an_instagram_enquiry_becomes_a_lead_with_its_consent_and_journey(
    visitor, database, store
):
    async with visitor() as http:
        page = await http.get(f"/f/{store.id}", params={"source": "instagram"})
        assert page.status_code == 200
        assert "set-cookie" not in page.headers  # no session for a visitor
        assert f"Ask {store.name}" in page.text and WORDING in page.text
        sent = await http.post(f"/f/{store.id}", data=enquiry(token_of(page.text)))
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/f/{store.id}/thanks?source=instagram"
        thanks = await http.get(sent.headers["location"])
        assert "Your details are with" in thanks.text

    [lead] = leads_of(database, store)
    assert (lead.first_name, lead.last_name, lead.phone_e164) == ("Asha", "Kapoor", "+919845012345")
    assert (lead.source, lead.segment, lead.preferred_channel) == (
        "instagram",
        "engagement",
        Channel.WHATSAPP,
    )
    [consent] = database.read(
        lambda s: s.scalars(select(Consent).where(Consent.lead_id == lead.id)).all()
    )
    assert consent.channel is Channel.WHATSAPP and consent.status is ConsentStatus.GRANTED
    assert consent.evidence == f'instagram form: "Yes, {store.name} {WORDING}"'
    [event] = database.read(
        lambda s: s.scalars(select(Event).where(Event.lead_id == lead.id)).all()
    )
    assert event.kind == "captured" and event.payload == {"message": "An oval solitaire, platinum"}
    [journey] = database.read(
        lambda s: s.scalars(select(Enrollment).where(Enrollment.lead_id == lead.id)).all()
    )
    assert journey.workflow_id == f"journey:{lead.id}:engagement_ring"


async def test_the_tablet_starts_empty_again_after_each_visitor(visitor, database, store):
    async with visitor() as http:
        page = await http.get(f"/f/{store.id}/tablet")
        assert page.status_code == 200 and f"Welcome to {store.name}" in page.text
        assert 'class="tablet"' in page.text and 'autocomplete="off"' in page.text
        ravi = {"name": "Ravi", "phone": "", "email": "RAVI@example.com", "reply_by": "email"}
        token = token_of(page.text)
        sent = await http.post(
            f"/f/{store.id}", data=enquiry(token, **ravi, consent=["email", "sms"])
        )
        assert sent.status_code == 422  # SMS ticked without a phone
        assert "To hear from us by SMS, please give your phone number." in sent.text
        assert 'value="RAVI@example.com"' in sent.text  # what they typed is kept to fix
        sent = await http.post(f"/f/{store.id}", data=enquiry(token, **ravi, consent=["email"]))
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/f/{store.id}/tablet?source=walk_in&done=1"
        again = await http.get(sent.headers["location"])
    assert "Thank you!" in again.text and "RAVI" not in again.text and "Ravi" not in again.text
    [lead] = leads_of(database, store)
    assert (lead.source, lead.email, lead.preferred_channel) == (
        "walk_in",
        "ravi@example.com",
        Channel.EMAIL,
    )
    evidence = database.read(
        lambda s: s.scalars(select(Consent.evidence).where(Consent.lead_id == lead.id)).one()
    )
    assert evidence == f'walk-in tablet: "Yes, {store.name} {WORDING}"'


async def test_mistakes_are_answered_in_plain_words_and_change_nothing(visitor, database, store):
    async with visitor() as http:
        token = token_of((await http.get(f"/f/{store.id}")).text)
        cases = [
            ({"name": ""}, "Please tell us your name."),
            ({"phone": "", "email": ""}, "Please give a phone number or an email address"),
            ({"phone": "12"}, "That phone number does not look right."),
            ({"email": "asha@", "phone": ""}, "That email address does not look right"),
            ({"message": "x" * 1001}, "Please keep your message under 1,000 characters"),
            ({"interest": "yachts"}, "Please choose one of the options."),
            ({"reply_by": "email"}, "To hear from us by Email, please give your email address."),
        ]
        for fields, said in cases:
            answer = await http.post(f"/f/{store.id}", data=enquiry(token, **fields))
            assert answer.status_code == 422, fields
            assert answer.headers["content-type"].startswith("text/html")
            assert said in answer.text, fields
            assert 'aria-invalid="true"' in answer.text
    assert leads_of(database, store) == []


async def test_a_post_without_a_token_of_this_form_is_refused_and_changes_nothing(
    visitor, app, database, store, make_store
):
    other = make_store()
    secret = app.state.settings.secret_key.get_secret_value()
    async with visitor() as http:
        other_token = token_of((await http.get(f"/f/{other.id}")).text)
        stale = sign(
            secret,
            "capture-form",
            {"s": store.id.hex, "src": "web_form", "c": "", "t": 0},
            datetime.now(UTC) - timedelta(minutes=1),
        )
        for token in ("", "forged.token", other_token, stale):
            answer = await http.post(f"/f/{store.id}", data=enquiry(token))
            assert answer.status_code == 403
            assert "This form has expired. Please reload the page" in answer.text
    assert leads_of(database, store) == []


async def test_a_hundred_posts_from_one_address_in_a_minute_are_throttled_after_the_limit(
    visitor, database, store
):
    async with visitor("203.0.113.50") as http:
        token = token_of((await http.get(f"/f/{store.id}")).text)
        answers = [
            await http.post(
                f"/f/{store.id}", data=enquiry(token, name=f"Guest {n}", phone=indian_mobile())
            )
            for n in range(100)
        ]
    statuses = [answer.status_code for answer in answers]
    assert statuses == [303] * 20 + [429] * 80
    refused = answers[-1]
    assert refused.headers["retry-after"] == "60"
    assert refused.headers["content-type"].startswith("text/html")
    assert "Too many enquiries at once. Please wait a minute and try again." in refused.text
    assert len(leads_of(database, store)) == 20  # nothing past the limit was captured
    # Someone else, at another address, still gets through.
    async with visitor("198.51.100.23") as http:
        token = token_of((await http.get(f"/f/{store.id}")).text)
        assert (await http.post(f"/f/{store.id}", data=enquiry(token))).status_code == 303
    assert len(leads_of(database, store)) == 21


async def test_a_branch_takes_so_many_posts_a_minute_from_every_address_together(
    visitor, app, database, store, make_store
):
    app.state.capture_limits = CaptureLimits(per_branch=5)
    other = make_store()
    statuses = []
    for n in range(8):
        async with visitor(f"192.0.2.{n + 1}") as http:
            token = token_of((await http.get(f"/f/{store.id}")).text)
            answer = await http.post(f"/f/{store.id}", data=enquiry(token, phone=indian_mobile()))
            statuses.append(answer.status_code)
    assert statuses == [303] * 5 + [429] * 3
    async with visitor("192.0.2.99") as http:  # another branch's form is not held up
        token = token_of((await http.get(f"/f/{other.id}")).text)
        assert (await http.post(f"/f/{other.id}", data=enquiry(token))).status_code == 303


async def test_a_filled_honeypot_is_thanked_and_nothing_is_created(visitor, database, store):
    async with visitor() as http:
        page = await http.get(f"/f/{store.id}", params={"source": "qr"})
        assert 'name="website"' in page.text and 'class="trap"' in page.text
        token = token_of(page.text)
        for n in range(5):
            answer = await http.post(
                f"/f/{store.id}", data=enquiry(token, website=f"http://spam.example/{n}")
            )
            assert answer.status_code == 303  # a robot learns nothing
            assert answer.headers["location"] == f"/f/{store.id}/thanks?source=qr"
    assert leads_of(database, store) == []


async def test_oversize_bodies_are_refused_with_413_and_change_nothing(visitor, database, store):
    async with visitor() as http:
        token = token_of((await http.get(f"/f/{store.id}")).text)
        for size in (9 * 1024, 200 * 1024):  # over the form's limit; over the API's
            answer = await http.post(f"/f/{store.id}", data=enquiry(token, message="x" * size))
            assert answer.status_code == 413, size
        assert (
            "That was more than the form can take."
            in (await http.post(f"/f/{store.id}", data=enquiry(token, message="x" * 9 * 1024))).text
        )
    assert leads_of(database, store) == []


async def test_unknown_forms_are_not_found_in_plain_words(visitor, store):
    async with visitor() as http:
        for path, params in [
            (f"/f/{uuid.uuid4()}", {}),
            ("/f/not-a-branch", {}),
            (f"/f/{store.id}", {"source": "pos"}),
            (f"/f/{store.id}", {"campaign": "Not Allowed!"}),
            (f"/f/{store.id}/qr.gif", {}),
        ]:
            answer = await http.get(path, params=params)
            assert answer.status_code == 404, path
            assert "There is no enquiry form at this address." in answer.text


async def test_the_qr_codes_carry_the_forms_exact_address(visitor, app, store):
    url = f"{PUBLIC}/f/{store.id}?source=instagram&campaign=spring-bio"
    async with visitor() as http:
        svg = await http.get(
            f"/f/{store.id}/qr.svg", params={"source": "instagram", "campaign": "spring-bio"}
        )
        png = await http.get(
            f"/f/{store.id}/qr.png", params={"source": "instagram", "campaign": "spring-bio"}
        )
        # The address it names is a form that opens.
        assert (await http.get(url.removeprefix(PUBLIC))).status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    root = ElementTree.fromstring(svg.content)  # well-formed
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    regenerated = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        regenerated, kind="svg", scale=8, border=4, title="Enquiry form"
    )
    assert svg.content == regenerated.getvalue()
    assert svg.content != _svg_of(url + "x")  # another address is another picture

    assert png.headers["content-type"] == "image/png"
    [found] = zxingcpp.read_barcodes(png_pixels(png.content))
    assert found.format == zxingcpp.BarcodeFormat.QRCode and found.text == url


def _svg_of(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="svg", scale=8, border=4)
    return buffer.getvalue()


def test_the_decoder_reads_what_segno_draws():  # the check above bites on a wrong address
    buffer = io.BytesIO()
    segno.make("https://example.com/a", error="m").save(buffer, kind="png", scale=6)
    [found] = zxingcpp.read_barcodes(png_pixels(buffer.getvalue()))
    assert found.text == "https://example.com/a"
    assert zxingcpp.read_barcodes(np.full((80, 80), 255, dtype=np.uint8)) == []


async def test_the_staff_page_lists_each_form_with_its_codes(console, database, store, make_store):
    elsewhere = make_store()
    async with console() as http:
        await signed_in(http, make_account(database, store, "manager"))
        page = await http.get("/console/capture")
        assert page.status_code == 200
        for path in (
            f"/f/{store.id}?source=instagram",
            f"/f/{store.id}/tablet?source=walk_in",
            f"/f/{store.id}/qr.svg?source=web_form",
            f"/f/{store.id}/qr.png?source=qr",
        ):
            assert path in page.text.replace("&amp;", "&"), path
        assert str(elsewhere.id) not in page.text  # a branch's manager sees their branch
        campaign = await http.get(
            "/console/capture", params={"source": "qr", "campaign": "diwali-stand"}
        )
        assert f"/f/{store.id}?source=qr&amp;campaign=diwali-stand" in campaign.text
        bad = await http.get("/console/capture", params={"campaign": "Diwali Stand!"})
        assert "A campaign name is up to 40 lower-case letters" in bad.text


@pytest.mark.parametrize("role", ROLES)
async def test_who_may_open_the_staff_page_of_forms(role, console, database, store):
    async with console() as http:
        await signed_in(http, make_account(database, store, role))
        answer = await http.get("/console/capture")
    assert answer.status_code == (200 if role in {"admin", "marketing", "manager"} else 403)
    if answer.status_code == 403:
        assert "Your role does not allow you to see the enquiry forms" in answer.text


def test_a_form_token_names_its_branch_source_and_campaign(app):
    request = Request({"type": "http", "app": app})  # they read only the app's settings
    form = Form(uuid.uuid4(), LeadSource.QR, campaign="stand-7", tablet=True)
    token = form_token(request, form)
    assert form_of_token(request, form.store_id, token) == form
    assert form_of_token(request, uuid.uuid4(), token) is None


async def test_the_visitors_pages_load_nothing_from_elsewhere(visitor, store):
    async with visitor() as http:
        pages = [
            await http.get(f"/f/{store.id}?source=instagram"),
            await http.get(f"/f/{store.id}/tablet?done=1"),
            await http.get(f"/f/{store.id}/thanks?source=web_form"),
            await http.get(f"/f/{uuid.uuid4()}"),
        ]
        css = await http.get("/console/static/capture.css")
    assert css.status_code == 200 and _outside(css.text) == []
    for page in pages:
        assert _outside(page.text) == [], page.url
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"  # the form's token is not kept


async def test_a_malformed_enquiry_is_a_4xx_that_creates_nothing(visitor, database, store):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with visitor() as http:
        token = token_of((await http.get(f"/f/{store.id}")).text)
        answers = {
            "a NUL in a field": await http.post(
                f"/f/{store.id}", data=enquiry(token, name="Asha\x00")
            ),
            "a field that is not UTF-8": await http.post(
                f"/f/{store.id}",
                content=f"token={token}&name=%ff%fe&phone=9845012345".encode(),
                headers=form,
            ),
            "no token": await http.post(f"/f/{store.id}", data=enquiry("")),
        }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {"a NUL in a field": 422, "a field that is not UTF-8": 422, "no token": 403}
    assert leads_of(database, store) == []
