"""Reply addresses: an email's Reply-To that names its lead, so a reply finds the lead even
when it comes from another address (an alias, a forward, a partner's account).

`reply+<lead id>-<signature>@<reply domain>`: the signature is an HMAC over the lead id with
SECRET_KEY, so nobody can write to a lead's conversation by guessing ids. Lower-case hex
only: mail systems may change the case of an address's local part.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable

_ADDRESS = re.compile(r"reply\+([0-9a-f]{32})-([0-9a-f]{16})@", re.IGNORECASE)


def _signature(secret: str, lead_id: uuid.UUID) -> str:
    return hmac.new(secret.encode(), f"reply:{lead_id}".encode(), hashlib.sha256).hexdigest()[:16]


def reply_address(secret: str, lead_id: uuid.UUID, domain: str) -> str:
    """The Reply-To of the lead's emails, on the Inbound Parse domain."""
    return f"reply+{lead_id.hex}-{_signature(secret, lead_id)}@{domain}"


def lead_replied_to(secret: str, addresses: Iterable[str]) -> uuid.UUID | None:
    """The lead whose reply address is among `addresses` (an email's To and envelope), if
    one is there with a true signature."""
    for address in addresses:
        found = _ADDRESS.search(address)
        if found is None:
            continue
        lead_id = uuid.UUID(hex=found.group(1).lower())
        if hmac.compare_digest(found.group(2).lower(), _signature(secret, lead_id)):
            return lead_id
    return None
