"""The words Facet's records are written in: statuses, outcomes, reasons and roles.

The sequence language has its own words (channels, segments, event kinds, staff roles) in
`sequences/vocabulary.py`, because marketing writes them in YAML. These are the rest: how a
journey ended, where a message is, what became of a task, who an API key is. They live on
the ground floor, with no imports, because the database columns, the domain rules, the
workflows' payloads and the API's schemas all speak them.
"""

from __future__ import annotations

from enum import StrEnum

# --- leads and consent ----------------------------------------------------------------------


class LeadSource(StrEnum):
    WEB_FORM = "web_form"
    QR = "qr"
    WALK_IN = "walk_in"
    WHATSAPP = "whatsapp"
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"  # a Facebook lead form (Meta lead ads)
    SHOPIFY = "shopify"  # a Shopify order or customer, online or at its Point of Sale
    POS = "pos"
    PHONE = "phone"
    REFERRAL = "referral"


class Stage(StrEnum):
    AWARENESS = "awareness"
    INTEREST = "interest"
    CONSIDERATION = "consideration"
    INTENT = "intent"
    PURCHASE = "purchase"
    POST_SALE = "post_sale"


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"


# --- journeys -------------------------------------------------------------------------------


class JourneyStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"  # ran its last step without reaching the goal
    CONVERTED = "converted"  # reached its goal (e.g. a purchase)
    EXITED = "exited"  # left early on an exit event (e.g. opted out), or its lead is gone
    SUPERSEDED = "superseded"  # a newer run of it, or the new segment's journey, took over


# --- messages -------------------------------------------------------------------------------


class TouchStatus(StrEnum):
    HELD = "held"  # quiet hours: the journey waits until `held_until`, then sends
    CLAIMED = "claimed"
    SENDING = "sending"  # the provider is being called; a retry that finds this never resends
    SENT = "sent"
    # No provider is configured for the channel: the message was written to the outbox and
    # nothing left Facet. Never shown as `sent`; it counts toward caps as a sent message does.
    OUTBOX = "outbox"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    REPLIED = "replied"
    UNDELIVERED = "undelivered"
    BOUNCED = "bounced"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


class SuppressionReason(StrEnum):
    NO_CONSENT = "no_consent"
    NO_CONTACT = "no_contact"
    QUIET_HOURS = "quiet_hours"
    FREQUENCY_CAP = "frequency_cap"
    INVALID_CONTACT = "invalid_contact"
    WINDOW_CLOSED = "window_closed"
    OPTED_OUT = "opted_out"  # the provider says the recipient opted out (Twilio 21610)


class FailureReason(StrEnum):
    """Why a claimed message did not reach the recipient (a failed Touch's reason)."""

    OUTCOME_UNKNOWN = "outcome_unknown"  # the worker died while the provider was called
    RETRIES_EXHAUSTED = "retries_exhausted"
    PROVIDER_REJECTED = "provider_rejected"


# --- tasks ----------------------------------------------------------------------------------


class TaskStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TaskOutcome(StrEnum):
    """How a person closed a task; it flows back to the lead as an event."""

    CONTACTED = "contacted"
    APPOINTMENT_BOOKED = "appointment_booked"
    NOT_INTERESTED = "not_interested"
    WRONG_NUMBER = "wrong_number"
    NO_ANSWER = "no_answer"
    PURCHASED = "purchased"
    OTHER = "other"


# --- access ---------------------------------------------------------------------------------


class ApiRole(StrEnum):
    ADMIN = "admin"
    MARKETING = "marketing"
    ASSOCIATE = "associate"
    POS = "pos"
