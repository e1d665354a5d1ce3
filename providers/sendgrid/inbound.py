"""What SendGrid's Inbound Parse posts: an email a lead sent to the store's reply address.

SendGrid signs nothing here: the route's URL carries a secret only Facet and SendGrid's
settings know (`secret_valid`). The post is multipart/form-data with the message already
parsed: `from`, `to`, `subject`, `text`, `html`, `headers` (the raw header block), `envelope`,
`dkim`, `SPF`, `spam_score`, attachments … Facet reads the sender, the subject, what the
person wrote above the quoted thread, and the Message-ID that makes a redelivery count once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from html import unescape

# Where a reply stops and the quoted thread, a signature or a phone's footer begins.
_THREAD_STARTS = re.compile(
    r"^(>|--\s*$|_{10,}|-{3,}\s*original message|on .{0,200} wrote:\s*$|"
    r"from:\s|sent from my |get outlook for )",
    re.IGNORECASE,
)
_BREAKS = re.compile(r"<(br|/p|/div|/li|/tr|/h\d|/blockquote)\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\u00a0]+")
_MACHINE_SENDERS = frozenset({"mailer-daemon", "postmaster", "no-reply", "noreply"})
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd)\s*:\s*)+", re.IGNORECASE)


def secret_valid(expected: str, given: str) -> bool:
    """The secret in the URL, compared in constant time."""
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class InboundEmail:
    """An email from a person, as Facet reads it. `text` is the whole body (kept with the
    lead's event, never logged); `reply` is what they wrote above the thread."""

    message_key: str  # a digest of the Message-ID (or of the mail): the redelivery key
    sender: str  # the From address as written; the domain normalises it
    subject: str
    text: str
    reply: str
    recipients: tuple[str, ...] = ()  # To, Cc and the envelope's recipients: a reply address
    # An out-of-office answer, a bounce or another machine's reply (RFC 3834 Auto-Submitted,
    # Precedence, mailer daemons): no person wrote it.
    automatic: bool = False


class NotAnEmail(ValueError):
    """The post is not an email SendGrid parsed: `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_inbound(form: Mapping[str, str]) -> InboundEmail:
    """The email in SendGrid's form; `NotAnEmail` naming the field for a post that is not one."""
    sender = parseaddr(form.get("from", ""))[1].strip()
    if not sender or "@" not in sender:
        raise NotAnEmail("from", "must hold the sender's email address")
    text = form.get("text") or ""
    if not text.strip() and form.get("html"):
        text = _html_text(form["html"])
    subject = form.get("subject", "")
    headers = HeaderParser().parsestr(form.get("headers", ""), headersonly=True)
    message_id = (headers.get("Message-ID") or headers.get("Message-Id") or "").strip()
    identity = message_id or "\n".join((sender.lower(), subject, text))
    return InboundEmail(
        message_key=hashlib.sha256(identity.encode()).hexdigest()[:40],
        sender=sender,
        subject=subject,
        text=text,
        reply=reply_portion(text) or _REPLY_PREFIX.sub("", subject).strip(),
        recipients=_recipients(form),
        automatic=_automatic(sender, headers),
    )


def _automatic(sender: str, headers: Message) -> bool:
    if sender.split("@")[0].lower() in _MACHINE_SENDERS:
        return True
    submitted = (headers.get("Auto-Submitted") or "no").strip().lower()
    precedence = (headers.get("Precedence") or "").strip().lower()
    return (
        submitted != "no"
        or precedence in {"bulk", "junk", "list", "auto_reply"}
        or any(name in headers for name in ("X-Autoreply", "X-Autorespond"))
    )


def _recipients(form: Mapping[str, str]) -> tuple[str, ...]:
    written = [address for _name, address in getaddresses([form.get("to", ""), form.get("cc", "")])]
    try:
        envelope = json.loads(form.get("envelope") or "{}")
    except ValueError:
        envelope = {}
    to = envelope.get("to") if isinstance(envelope, dict) else None
    delivered = (
        [address for address in to if isinstance(address, str)] if isinstance(to, list) else []
    )
    return tuple(address for address in (*written, *delivered) if address)


def _html_text(html: str) -> str:
    """An HTML-only email's words, a line per block (so a quoted thread still starts a line)."""
    lines = unescape(_TAGS.sub("", _BREAKS.sub("\n", html))).split("\n")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in lines).strip()


def reply_portion(text: str) -> str:
    """What the person wrote above the quoted thread, their signature and phone footer."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _THREAD_STARTS.match(line.strip()):
            break
        kept.append(line)
    return "\n".join(kept).strip()
