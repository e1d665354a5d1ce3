"""The sequence library in the console, over httpx: publishing YAML (problems beside their
lines, nothing published), a version's diff, the dated preview for a sample lead, and each
template on each channel."""

from __future__ import annotations

import html
import re
import uuid

import pytest

from tests.sequences.samples import trunk_show
from tests.web.people import make_account, signed_in


def _yaml(key: str, old: str = "", new: str = "") -> str:
    return trunk_show(key).replace(old, new, 1)


def _key() -> str:
    return f"trunk_{uuid.uuid4().hex[:8]}"


def _line(page: str, number: int) -> str:
    """The listing's line `number` as shown (its text and any problem beside it)."""
    found = re.search(rf'<li data-line="{number}" ?(class="bad")?>(.*?)</li>', page, re.S)
    assert found, f"no line {number} in the listing"
    shown = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(2))).split())
    return ("bad " if found.group(1) else "") + shown


@pytest.fixture
async def marketer(console, database, store):
    async with console() as http:
        yield await signed_in(http, make_account(database, store, "marketing"))


async def _publish(me, text: str):
    return await me.post("/console/sequences", {"text": text})


async def test_marketing_publishes_a_version_from_yaml(marketer):
    key = _key()
    answer = await _publish(marketer, _yaml(key))
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/sequences/{key}?version=1&published=1"
    page = await marketer.http.get(answer.headers["location"])
    assert "Version 1 is published" in page.text
    assert "Trunk show invitations" in page.text
    # The same YAML again is no new version.
    again = await _publish(marketer, _yaml(key))
    assert again.headers["location"] == f"/console/sequences/{key}?version=1&unchanged=1"
    listed = await marketer.http.get("/console/sequences")
    assert f'href="/console/sequences/{key}"' in listed.text
    assert "engagement_ring" in listed.text  # the library is there too


async def test_a_file_upload_publishes_too(marketer):
    key = _key()
    answer = await marketer.http.post(
        "/console/sequences",
        data={"csrf": marketer.csrf, "text": ""},
        files={"file": ("trunk.yaml", _yaml(key).encode(), "application/x-yaml")},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(f"/console/sequences/{key}?version=1")


async def test_a_validation_problem_is_shown_beside_its_line_and_nothing_is_published(marketer):
    key = _key()
    text = _yaml(key, "at: {days: 2}", "at: {days: two}").replace("role: associate", "role: x")
    answer = await _publish(marketer, text)
    assert answer.status_code == 422
    assert "2 problems: nothing published." in answer.text
    assert _line(answer.text, 8) == (
        "bad 8 at: {days: two} Input should be a valid integer, unable to parse string as an "
        "integer."
    )
    assert _line(answer.text, 12).startswith("bad 12 task: {role: x,")
    assert "Input should be 'associate'" in _line(answer.text, 12)
    assert not _line(answer.text, 11).startswith("bad")
    # The text stays in the form to fix.
    assert "role: x, reason: Invite them in person" in answer.text
    assert (await marketer.http.get(f"/console/sequences/{key}")).status_code == 404


async def test_yaml_that_cannot_be_read_is_shown_at_its_lines(marketer):
    key = _key()
    answer = await _publish(marketer, _yaml(key, "at: {days: 2}", "at: {days: 2"))
    assert answer.status_code == 422
    assert "This is not valid YAML" in answer.text
    assert "While parsing a flow mapping that starts here." in _line(answer.text, 8)
    assert "Expected ',' or '}', but got ':'." in _line(answer.text, 9)
    assert (await marketer.http.get(f"/console/sequences/{key}")).status_code == 404


async def test_a_step_out_of_order_is_shown_at_its_line(marketer):
    answer = await _publish(marketer, _yaml(_key(), "at: {days: 3}", "at: {days: 1}"))
    assert answer.status_code == 422
    assert "1 problem: nothing published." in answer.text
    assert _line(answer.text, 11) == (
        "bad 11 at: {days: 1} Step 'call': field 'at' is earlier than step 'reminder'; "
        "offsets must not go backwards."
    )


async def test_an_enroll_of_an_unpublished_sequence_is_shown_at_its_line(marketer):
    key = _key()
    text = _yaml(key) + "  - id: hand_over\n    enroll: {sequence: nowhere_yet}\n"
    answer = await _publish(marketer, text)
    assert answer.status_code == 422
    assert "unpublished sequence(s): nowhere_yet" in _line(answer.text, 14)


async def test_a_journey_cannot_become_a_countdown_and_says_so_at_its_occasion(marketer):
    key = _key()
    await _publish(marketer, _yaml(key))
    countdown = (
        f"key: {key}\nname: Now a countdown\noccasion: anniversary\nsteps:\n  - id: soon\n"
        "    at: {before: {days: 30}, of: anniversary}\n    send: {template: engagement/welcome}\n"
    )
    answer = await _publish(marketer, countdown)
    assert answer.status_code == 409
    assert "is published as a journey; a new version cannot change that" in _line(answer.text, 3)
    page = await marketer.http.get(f"/console/sequences/{key}")
    assert "version 1 of 1" in page.text


async def test_the_diff_between_two_versions(marketer):
    key = _key()
    await _publish(marketer, _yaml(key))
    second = await _publish(marketer, _yaml(key, "at: {days: 2}", "at: {days: 3}"))
    assert second.headers["location"].endswith("version=2&published=1")
    page = await marketer.http.get(f"/console/sequences/{key}/diff?older=1&newer=2")
    assert page.status_code == 200
    rows = re.findall(r'<tr class="(removed|added)">(.*?)</tr>', page.text, re.S)
    changed = [(kind, " ".join(re.sub(r"<[^>]+>", " ", row).split())) for kind, row in rows]
    # Versions are compared as YAML written back from what was published (block style).
    assert changed == [("removed", "11 − days: 2"), ("added", "11 + days: 3")]
    assert "From version 1 to 2" in page.text
    same = await marketer.http.get(f"/console/sequences/{key}/diff?older=2&newer=2")
    assert "These two versions are the same." in same.text
    missing = await marketer.http.get(f"/console/sequences/{key}/diff?older=1&newer=9")
    assert missing.status_code == 404
    nonsense = await marketer.http.get(f"/console/sequences/{key}/diff?older=one&newer=2")
    assert nonsense.status_code == 422


async def test_the_preview_dates_each_step_for_the_sample_lead(marketer):
    key = _key()
    await _publish(marketer, _yaml(key))
    page = await marketer.http.get(
        f"/console/sequences/{key}/preview",
        params={"timezone": "America/New_York", "start": "2027-01-04T09:00", "score": "55"},
    )
    assert page.status_code == 200
    plan = re.findall(r"<time[^>]*>(.*?)</time>.*?<code>(\w+)</code>", page.text, re.S)
    assert plan == [
        ("Mon 04 Jan 2027, 09:00 EST", "save_the_date"),
        ("Wed 06 Jan 2027, 09:00 EST", "reminder"),
        ("Thu 07 Jan 2027, 09:00 EST", "call"),
    ]
    assert "associate: Invite them in person" in page.text
    wrong = await marketer.http.get(
        f"/console/sequences/{key}/preview", params={"timezone": "Mars/Olympus", "score": "500"}
    )
    assert wrong.status_code == 422
    assert "Unknown time zone &#39;Mars/Olympus&#39;" in wrong.text
    assert "A score is a whole number from 0 to 100." in wrong.text
    assert '<ol class="plan">' not in wrong.text


async def test_each_template_is_rendered_per_channel_for_a_sample_lead(marketer):
    key = _key()
    await _publish(marketer, _yaml(key))
    page = await marketer.http.get(
        f"/console/sequences/{key}/templates", params={"name": "<b>Zara</b>"}
    )
    assert page.status_code == 200
    shown = re.findall(r'data-template="([^"]+)" data-channel="([^"]*)"', page.text)
    # Every variant each template has (the guide has no WhatsApp text), in step order.
    assert shown == [
        ("engagement/welcome", "email"),
        ("engagement/welcome", "sms"),
        ("engagement/welcome", "whatsapp"),
        ("engagement/four_cs", "email"),
        ("engagement/four_cs", "sms"),
    ]
    # The SMS as the lead reads it, the name escaped on the page (never markup).
    assert (
        "Hi &lt;b&gt;Zara&lt;/b&gt;, thank you for your enquiry at Facet Demo Jewellers"
        in page.text
    )
    # The email's subject, and its body in a sandboxed frame: the merge field escaped in the
    # email's HTML, and that HTML escaped again in the attribute.
    assert "Thank you for thinking of Facet Demo Jewellers, &lt;b&gt;Zara&lt;/b&gt;" in page.text
    frame = re.search(r'<iframe class="email"[^>]*sandbox srcdoc="([^"]*)"', page.text)
    assert frame and "Dear &amp;lt;b&amp;gt;Zara&amp;lt;/b&amp;gt;," in frame.group(1)


async def test_a_publish_without_its_csrf_token_is_refused_and_publishes_nothing(marketer):
    key = _key()
    for data in ({"text": _yaml(key)}, {"text": _yaml(key), "csrf": "forged"}):
        answer = await marketer.http.post("/console/sequences", data=data)
        assert answer.status_code == 403
        assert "expired or did not come from this page" in answer.text
    answer = await marketer.http.post(
        "/console/sequences", files={"file": ("trunk.yaml", _yaml(key).encode(), "text/yaml")}
    )
    assert answer.status_code == 403
    assert (await marketer.http.get(f"/console/sequences/{key}")).status_code == 404
