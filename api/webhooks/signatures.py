"""Webhook signatures, checked before anything is parsed or recorded.

Spelled out with the standard library and `cryptography` (the API never imports vendor SDKs);
the tests sign with the vendors' own helpers, so the two must agree.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def twilio_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 of the URL + sorted names and values."""
    names = sorted({name for name, _ in params})
    signed = url + "".join(
        name + value for name in names for value in sorted({v for n, v in params if n == name})
    )
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_signature_valid(
    auth_token: str, url: str, params: list[tuple[str, str]], signature: str | None
) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(twilio_signature(auth_token, url, params), signature)


def sendgrid_signature_valid(
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
