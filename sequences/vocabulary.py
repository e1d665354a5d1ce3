"""The words every layer shares: channels, purposes, roles, event kinds, journey outcomes.

They live here, in the pure bottom layer, because the sequence language is written in them;
the database, the API and the workflows all import them from this one place.
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"


class Purpose(StrEnum):
    """Why a message is sent; consent and frequency caps apply per purpose."""

    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"


class LeadSource(StrEnum):
    WEB_FORM = "web_form"
    QR = "qr"
    WALK_IN = "walk_in"
    WHATSAPP = "whatsapp"
    INSTAGRAM = "instagram"
    POS = "pos"
    PHONE = "phone"
    REFERRAL = "referral"


class Segment(StrEnum):
    ENGAGEMENT = "engagement"
    BRIDAL = "bridal"
    CUSTOM_DESIGN = "custom_design"
    ANNIVERSARY = "anniversary"
    GIFTING = "gifting"
    DAILY_WEAR = "daily_wear"
    GOLD_SCHEME = "gold_scheme"
    REPAIR = "repair"


class Occasion(StrEnum):
    """Dates of a lead's that journeys count down to (stored on the lead)."""

    ANNIVERSARY = "anniversary"
    BIRTHDAY = "birthday"
    WEDDING = "wedding"
    PROPOSAL = "proposal"


class Festival(StrEnum):
    """Festivals and gifting days with a date table in sequences/festivals.yaml."""

    DHANTERAS = "dhanteras"
    DIWALI = "diwali"
    AKSHAYA_TRITIYA = "akshaya_tritiya"
    VALENTINES_DAY = "valentines_day"
    MOTHERS_DAY = "mothers_day"
    CHRISTMAS = "christmas"


class Stage(StrEnum):
    AWARENESS = "awareness"
    INTEREST = "interest"
    CONSIDERATION = "consideration"
    INTENT = "intent"
    PURCHASE = "purchase"
    POST_SALE = "post_sale"


class StaffRole(StrEnum):
    ASSOCIATE = "associate"
    GEMOLOGIST = "gemologist"
    DESIGNER = "designer"
    MANAGER = "manager"


class EventKind(StrEnum):
    """What can happen to a lead. Journeys react to these by name."""

    CAPTURED = "captured"
    ENQUIRY = "enquiry"
    STORE_VISIT = "store_visit"
    PRODUCT_VIEW = "product_view"
    CATEGORY_VIEW = "category_view"
    QUESTION = "question"
    TECHNICAL_QUESTION = "technical_question"
    APPOINTMENT_REQUESTED = "appointment_requested"
    APPOINTMENT_BOOKED = "appointment_booked"
    REPLY = "reply"
    EMAIL_OPENED = "email_opened"
    EMAIL_CLICKED = "email_clicked"
    PURCHASE = "purchase"
    JOB_STATUS = "job_status"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    NOTE = "note"
    INBOUND_MESSAGE = "inbound_message"  # anything the lead wrote to us (opens WhatsApp's window)
    DELIVERY_FAILED = "delivery_failed"  # a provider refused a message for good
    TASK_COMPLETED = "task_completed"  # a person finished a task; the payload holds the outcome


class JourneyStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"  # ran its last step without reaching the goal
    CONVERTED = "converted"  # reached its goal (e.g. a purchase)
    EXITED = "exited"  # left early on an exit event (e.g. opted out)


class TouchStatus(StrEnum):
    HELD = "held"  # quiet hours: the journey waits until `held_until`, then sends
    CLAIMED = "claimed"
    SENDING = "sending"  # the provider is being called; a retry that finds this never resends
    SENT = "sent"
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


class Priority(StrEnum):
    """A lead's (and its task's) urgency: hot leads get a person within the hour."""

    HOT = "hot"
    WARM = "warm"
    COLD = "cold"


class ApiRole(StrEnum):
    ADMIN = "admin"
    MARKETING = "marketing"
    ASSOCIATE = "associate"
    POS = "pos"
