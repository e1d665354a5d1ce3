"""The signatures store systems put on their deliveries, checked over the raw body.

- Facet's contract: `Facet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
  "{t}.{raw body}")>`; refused when `t` is more than `tolerance` seconds from now either way.
  Several `v1=` may be given (a sender mid-rotation signs with both).
- Shopify: `X-Shopify-Hmac-Sha256: base64(HMAC-SHA256(app secret, raw body))`.
- Meta (Facebook/Instagram lead ads): `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app
  secret, raw body)>`.

Every comparison is constant-time (`hmac.compare_digest`); any of the live secrets may match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


class SignatureRefused(Exception):
    """The delivery is not signed by a live secret, or too old or new; the message says how."""


def _hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def facet_signature(secret: str, body: bytes, timestamp: int) -> str:
    """The `Facet-Signature` header value for `body` sent at `timestamp` (unix seconds)."""
    digest = _hmac(secret, f"{timestamp}.".encode() + body).hex()
    return f"t={timestamp},v1={digest}"


def check_facet_signature(
    header: str | None, body: bytes, secrets: Iterable[str], *, now: float, tolerance: int
) -> int:
    """The signed timestamp, if one of `secrets` signed `body` within `tolerance` of `now`."""
    if not header:
        raise SignatureRefused("missing Facet-Signature header")
    timestamp: int | None = None
    given: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            given.append(value.strip())
    if timestamp is None or not given:
        raise SignatureRefused("Facet-Signature must read t=<unix seconds>,v1=<hex HMAC-SHA256>")
    if abs(now - timestamp) > tolerance:
        raise SignatureRefused(
            f"Facet-Signature timestamp is more than {tolerance} s from now: sign each "
            "delivery when it is sent (a replayed delivery is refused)"
        )
    message = f"{timestamp}.".encode() + body
    for secret in secrets:
        expected = _hmac(secret, message).hex()
        if any(hmac.compare_digest(expected, candidate) for candidate in given):
            return timestamp
    raise SignatureRefused("Facet-Signature does not match a live secret of this source")


def shopify_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(_hmac(secret, body)).decode()


def check_shopify_hmac(header: str | None, body: bytes, secrets: Iterable[str]) -> None:
    if not header:
        raise SignatureRefused("missing X-Shopify-Hmac-Sha256 header")
    for secret in secrets:
        if hmac.compare_digest(shopify_hmac(secret, body), header.strip()):
            return
    raise SignatureRefused("X-Shopify-Hmac-Sha256 does not match the app's secret")


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + _hmac(secret, body).hex()


def check_meta_signature(header: str | None, body: bytes, secrets: Iterable[str]) -> None:
    if not header or not header.startswith("sha256="):
        raise SignatureRefused("missing X-Hub-Signature-256 header (sha256=<hex>)")
    for secret in secrets:
        if hmac.compare_digest(meta_signature(secret, body), header.strip()):
            return
    raise SignatureRefused("X-Hub-Signature-256 does not match the app's secret")
