"""What SendGrid's signed Event Webhook means: its signature, its events, its statuses.

No SDK here (the API reads webhooks but must not be able to send): the signature is checked
with `cryptography`, and the tests sign as SendGrid does, so the two must agree.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from core.vocabulary import TouchStatus
from sequences.vocabulary import EventKind

STATUSES = {
    "delivered": TouchStatus.DELIVERED,
    "open": TouchStatus.OPENED,
    "click": TouchStatus.CLICKED,
    "bounce": TouchStatus.BOUNCED,
    "dropped": TouchStatus.FAILED,
}
# An unsubscribe leaves marketing email (receipts and service messages still go); a spam
# report stops all email.
UNSUBSCRIBES = frozenset({"unsubscribe", "group_unsubscribe"})
OPT_OUTS = UNSUBSCRIBES | {"spamreport"}
# The events that show a person engaging with a message: they become the lead's events.
ENGAGEMENTS = {"open": EventKind.EMAIL_OPENED, "click": EventKind.EMAIL_CLICKED}


def signature_valid(
    public_key_base64: str,
    payload: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    max_age_seconds: int,
    now: float | None = None,
) -> bool:
    """ECDSA (P-256, SHA-256) over timestamp + raw body; stale timestamps are replays."""
    if not signature or not timestamp:
        return False
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
        key = serialization.load_der_public_key(base64.b64decode(public_key_base64))
        decoded = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        return False
    if age > max_age_seconds or not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        key.verify(decoded, timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class EmailEvent:
    """One event of a batch, as Facet reads it."""

    event_id: str  # sg_event_id: each counts once, however often SendGrid posts it
    name: str  # delivered, open, click, bounce, dropped, spamreport, unsubscribe, …
    touch_id: uuid.UUID | None  # Facet's custom arg, when SendGrid echoes it
    message_id: str | None  # X-Message-Id: sg_message_id is "<X-Message-Id>.<suffix>"
    # An open SendGrid attributes to a machine (Apple Mail Privacy Protection fetches every
    # image when the mail arrives): nobody read the message, so it is no engagement.
    machine_open: bool = False
    at: datetime | None = None  # the event's own `timestamp` (Unix seconds), when given

    @property
    def status(self) -> TouchStatus | None:
        return None if self.machine_open else STATUSES.get(self.name)

    @property
    def engagement(self) -> EventKind | None:
        """The lead's event when a person opened the message or clicked a link in it."""
        return None if self.machine_open else ENGAGEMENTS.get(self.name)

    @property
    def opt_out(self) -> bool:
        return self.name in OPT_OUTS

    @property
    def unsubscribe(self) -> bool:
        return self.name in UNSUBSCRIBES

    @property
    def bounce(self) -> bool:
        return self.name == "bounce"


def parse_events(body: bytes) -> list[EmailEvent]:
    """The batch's events; ValueError, saying what is wrong, for a body that is not one."""
    try:
        items = json.loads(body)
    except ValueError as error:
        raise ValueError(f"body is not JSON ({error})") from error
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError("body must be a JSON array of event objects")
    for index, item in enumerate(items):
        if not isinstance(item.get("sg_event_id"), str) or not isinstance(item.get("event"), str):
            raise ValueError(f"event {index} needs string fields 'sg_event_id' and 'event'")
    return [_event(item) for item in items]


def _event(item: dict[str, Any]) -> EmailEvent:
    touch_id = None
    if isinstance(item.get("touch_id"), str):
        try:
            touch_id = uuid.UUID(item["touch_id"])
        except ValueError:
            touch_id = None
    message_id = str(item.get("sg_message_id") or "").split(".")[0]
    return EmailEvent(
        event_id=str(item["sg_event_id"]),
        name=str(item["event"]),
        touch_id=touch_id,
        message_id=message_id or None,
        machine_open=item.get("sg_machine_open") in (True, "true", "True", 1),
        at=_when(item.get("timestamp")),
    )


def _when(timestamp: object) -> datetime | None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        return None
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        return None
