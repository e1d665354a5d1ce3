"""Reading SendGrid's Inbound Parse form: who wrote, and what they wrote above the thread
(where a STOP is read), whatever their mail program does below it."""

from __future__ import annotations

import pytest

from providers.sendgrid.inbound import NotAnEmail, parse_inbound, reply_portion
from tests.standin import inbound_parse_post


@pytest.mark.parametrize(
    ("body", "reply"),
    [
        ("STOP", "STOP"),
        ("  stop  \n\nOn Tue, 1 Dec 2026 at 10:02, Test Jewellers wrote:\n> Hello Asha", "stop"),
        ("STOP\n\n-- \nAsha Rao\n+91 98450 12345", "STOP"),
        ("Stop\n\nSent from my iPhone", "Stop"),
        ("STOP\n________________________________\nFrom: Test Jewellers\nSent: Tuesday", "STOP"),
        ("Unsubscribe\n\n-----Original Message-----\nFrom: Test Jewellers", "Unsubscribe"),
        ("Yes please, Saturday.\nThanks!\n> On Tue you wrote", "Yes please, Saturday.\nThanks!"),
    ],
)
def test_the_reply_is_what_they_wrote_above_the_thread_and_signature(body, reply):
    assert reply_portion(body) == reply


def test_the_sender_subject_and_message_id_are_read_from_the_form():
    fields, _files = inbound_parse_post(
        "Asha.Rao@Example.com", "Is it there?", message_id="<abc@mail.example.com>"
    )
    email = parse_inbound(fields)
    again = parse_inbound({**fields, "text": "Is it there? (resent)"})
    other = parse_inbound({**fields, "headers": "Message-ID: <other@mail.example.com>\n"})

    assert (email.sender, email.subject, email.reply) == (
        "Asha.Rao@Example.com",
        "Re: Your ring",
        "Is it there?",
    )
    assert email.message_key == again.message_key != other.message_key  # keyed by Message-ID
    assert "replies@parse.store.example" in email.recipients


def test_an_empty_body_reads_the_subject_and_an_html_only_mail_its_text():
    fields, _files = inbound_parse_post("asha@example.com", "", subject="Re: STOP")
    html_only = {**fields, "text": "", "html": "<div>Call me <b>tomorrow</b></div>"}

    assert parse_inbound({**fields, "html": ""}).reply == "STOP"
    assert parse_inbound(html_only).reply == "Call me tomorrow"
    gmail = (
        '<div dir="ltr">STOP</div><br><div class="gmail_quote"><div dir="ltr">On Tue, 1 Dec '
        "2026, Test Jewellers wrote:<br></div><blockquote>Hello Asha</blockquote></div>"
    )
    assert parse_inbound({**fields, "text": "", "html": gmail}).reply == "STOP"


@pytest.mark.parametrize("sender", ["", "Asha", "not an address"])
def test_a_post_without_a_sender_address_names_the_from_field(sender):
    fields, _files = inbound_parse_post("asha@example.com", "Hello")
    with pytest.raises(NotAnEmail) as refused:
        parse_inbound({**fields, "from": sender})
    assert refused.value.field == "from"


@pytest.mark.parametrize(
    ("sender", "extra_headers", "automatic"),
    [
        ("asha@example.com", "", False),
        ("asha@example.com", "Auto-Submitted: no\n", False),
        ("asha@example.com", "Auto-Submitted: auto-replied\n", True),
        ("asha@example.com", "Precedence: auto_reply\n", True),
        ("asha@example.com", "X-Autoreply: yes\n", True),
        ("MAILER-DAEMON@mx.example.com", "", True),
    ],
)
def test_an_answer_no_person_wrote_is_told_apart(sender, extra_headers, automatic):
    fields, _files = inbound_parse_post(sender, "I am away until Monday.")
    fields["headers"] += extra_headers
    assert parse_inbound(fields).automatic is automatic
