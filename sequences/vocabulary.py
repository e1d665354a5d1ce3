"""The sequence language's words: channels, purposes, segments, dates, roles, event kinds.

Marketing writes these in YAML (`send: {channel: whatsapp}`, `wait_for: {event: …}`,
`task: {role: gemologist, priority: hot}`), so they live with the language, in the pure
bottom layer. The words of Facet's records (statuses, outcomes, reasons, API roles) are in
`core/vocabulary.py`.
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


class WorkPurpose(StrEnum):
    """What a journey or a task is for. A purchase ends sales work (follow-ups that chase the
    sale); a full opt-out ends sales journeys and tasks. Service work (a custom order's CAD,
    approval and pickup, a repair, receipts) goes on after both."""

    SALES = "sales"
    SERVICE = "service"


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


# Occasions that happen once and send the lead shopping before them (a ring, a bridal set);
# the others come round every year.
ONE_OFF_OCCASIONS = frozenset({Occasion.WEDDING, Occasion.PROPOSAL})


class BudgetBand(StrEnum):
    """What a lead means to spend, when they name a band rather than an amount."""

    ENTRY = "entry"
    MID = "mid"
    HIGH = "high"
    LUXURY = "luxury"


class Metal(StrEnum):
    YELLOW_GOLD = "yellow_gold"
    WHITE_GOLD = "white_gold"
    ROSE_GOLD = "rose_gold"
    PLATINUM = "platinum"
    SILVER = "silver"
    TWO_TONE = "two_tone"


class Stone(StrEnum):
    DIAMOND = "diamond"
    LAB_GROWN_DIAMOND = "lab_grown_diamond"
    RUBY = "ruby"
    SAPPHIRE = "sapphire"
    EMERALD = "emerald"
    PEARL = "pearl"
    MOISSANITE = "moissanite"
    POLKI = "polki"
    KUNDAN = "kundan"
    NONE = "none"


class Festival(StrEnum):
    """Festivals and gifting days with a date table in sequences/festivals.yaml."""

    DHANTERAS = "dhanteras"
    DIWALI = "diwali"
    AKSHAYA_TRITIYA = "akshaya_tritiya"
    VALENTINES_DAY = "valentines_day"
    MOTHERS_DAY = "mothers_day"
    CHRISTMAS = "christmas"


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
    PURCHASE_RETURNED = "purchase_returned"  # a refund of a sale, full or partial


class Priority(StrEnum):
    """A lead's (and its task's) urgency: hot leads get a person within the hour."""

    HOT = "hot"
    WARM = "warm"
    COLD = "cold"
