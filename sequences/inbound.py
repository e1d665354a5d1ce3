"""What an inbound text means: a carrier keyword, a plain-words stop request, or a reply.

Keywords count only as the whole message (case and surrounding spaces aside), as carriers
apply them: "STOP" opts out, "STOP PLEASE" does not. A message that asks in plain words to
stop ("please stop texting me") is not a keyword: Facet stops marketing on that channel and
asks a person to confirm, instead of guessing either way.
"""

from __future__ import annotations

import re
from enum import StrEnum

OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})

_STOP_REQUEST = re.compile(
    r"\b(stop|quit|cease)\b.*\b(text|texting|message|messaging|messages|sms|contact|"
    r"contacting|sending|whatsapp)\b"
    r"|\b(unsubscribe|opt[\s-]?out|remove me|take me off|do not (text|message|contact)|"
    r"don'?t (text|message|contact))\b",
    re.IGNORECASE,
)


class InboundKind(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    STOP_REQUEST = "stop_request"  # plain words asking to stop: suppress and review
    REPLY = "reply"


def classify_inbound(text: str) -> InboundKind:
    word = text.strip().upper()
    if word in OPT_OUT_WORDS:
        return InboundKind.OPT_OUT
    if word in OPT_IN_WORDS:
        return InboundKind.OPT_IN
    if word in HELP_WORDS:
        return InboundKind.HELP
    if _STOP_REQUEST.search(text):
        return InboundKind.STOP_REQUEST
    return InboundKind.REPLY
