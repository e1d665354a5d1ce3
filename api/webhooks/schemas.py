"""Answers of the webhook routes (their requests are the vendors' own forms and JSON)."""

from __future__ import annotations

from pydantic import BaseModel


class EventsReceived(BaseModel):
    processed: int  # events acted on now
    duplicates: int  # events already acted on before (SendGrid retries and replays)


class EmailReceived(BaseModel):
    leads: int  # the leads (one per store) whose address sent it; 0: nobody Facet knows
    automatic: bool = False  # an out-of-office, a bounce: no person wrote it, nothing recorded
