"""What Twilio's webhooks mean: their signature, their delivery statuses, their senders.

No SDK here (the API reads webhooks but must not be able to send): the signature is spelled
out with the standard library, and the tests sign with Twilio's own `RequestValidator`, so
the two must agree. Twilio signs the URL it called, so callers pass the public URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from core.vocabulary import TouchStatus
from sequences.vocabulary import Channel

# Twilio's MessageStatus values that move a touch on; the others (queued, sent, …) do not.
STATUSES = {
    "delivered": TouchStatus.DELIVERED,
    "read": TouchStatus.OPENED,
    "undelivered": TouchStatus.UNDELIVERED,
    "failed": TouchStatus.FAILED,
}


def signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 of the URL + sorted names and values."""
    names = sorted({name for name, _ in params})
    signed = url + "".join(
        name + value for name in names for value in sorted({v for n, v in params if n == name})
    )
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_valid(
    auth_token: str, url: str, params: list[tuple[str, str]], given: str | None
) -> bool:
    if not given:
        return False
    return hmac.compare_digest(signature(auth_token, url, params), given)


def touch_status(message_status: str) -> TouchStatus | None:
    """The touch status a delivery report means, or None when it changes nothing."""
    return STATUSES.get(message_status)


def failure_reason(error_code: str | None) -> str | None:
    """How a failed delivery's ErrorCode reads on the timeline."""
    return f"twilio_{error_code}" if error_code else None


def sender(from_: str) -> tuple[Channel, str]:
    """The channel and E.164 number of an inbound message's `From` (`whatsapp:+91…`)."""
    if from_.startswith("whatsapp:"):
        return Channel.WHATSAPP, from_.removeprefix("whatsapp:")
    return Channel.SMS, from_
