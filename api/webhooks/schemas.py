"""Answers of the webhook routes (their requests are the vendors' own forms and JSON)."""

from __future__ import annotations

from pydantic import BaseModel


class EventsReceived(BaseModel):
    processed: int  # events acted on now
    duplicates: int  # events already acted on before (SendGrid retries and replays)
