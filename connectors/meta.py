"""Facebook and Instagram lead forms (Meta lead ads).

Meta's webhook names a new lead only by id (`entry[].changes[].value.leadgen_id`, field
"leadgen"); the answers are read from the Graph API with the Page access token:
`GET {base}/{leadgen_id}?fields=…&access_token=…` → `{id, created_time, form_id, platform
("fb"|"ig"), field_data: [{name, values}], custom_disclaimer_responses: [{checkbox_key,
is_checked}]}`. The lead is then captured exactly as the web form captures one
(`domain.intake.capture`): source instagram or facebook, the form's consent boxes as consent
with the box and form as evidence.

Which box means which channel: a box whose key names a channel ("email", "sms" or "text",
"whatsapp") grants that channel; a box naming none ("marketing_consent") grants every channel
the lead gave an address for. An unticked box grants nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from core.settings import Settings
from core.vocabulary import LeadSource
from domain import intake
from domain.integrations import Handled, LiveSource
from domain.leads import Details, Identity, normalise_email
from domain.reference import Reference
from sequences.vocabulary import Channel

LEAD_FIELDS = (
    "id,created_time,form_id,ad_id,platform,is_organic,field_data,custom_disclaimer_responses"
)


class _Vendor(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LeadgenValue(_Vendor):
    leadgen_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
    page_id: str | None = Field(default=None, max_length=64)
    form_id: str | None = Field(default=None, max_length=64)


class Change(_Vendor):
    field: str = Field(max_length=64)
    value: dict[str, Any] = Field(default_factory=dict)


class Entry(_Vendor):
    id: str | None = Field(default=None, max_length=64)
    changes: list[Change] = Field(default_factory=list, max_length=100)


class Notification(_Vendor):
    object: str = Field(max_length=32)
    entry: list[Entry] = Field(default_factory=list, max_length=100)

    def leads(self) -> list[LeadgenValue]:
        return [
            LeadgenValue.model_validate(change.value)
            for entry in self.entry
            for change in entry.changes
            if change.field == "leadgen"
        ]


class GraphUnavailable(Exception):
    """The Graph API did not give the lead after every attempt (the delivery is answered 503
    and Meta sends it again)."""


@dataclass(frozen=True)
class GraphClient:
    """Reads leads from the Graph API (or a stand-in at `base_url`)."""

    base_url: str
    access_token: str
    attempts: int = 3
    timeout: float = 10.0
    backoff: float = 0.2

    def lead(self, leadgen_id: str) -> dict[str, Any]:
        url = f"{self.base_url.rstrip('/')}/{leadgen_id}"
        params = {"fields": LEAD_FIELDS, "access_token": self.access_token}
        last = "no attempt"
        for attempt in range(1, self.attempts + 1):
            try:
                answer = httpx.get(url, params=params, timeout=self.timeout)
            except httpx.HTTPError as error:
                last = type(error).__name__
            else:
                if answer.status_code == 200:
                    body: dict[str, Any] = answer.json()
                    return body
                last = f"HTTP {answer.status_code}"
                if answer.status_code < 500 and answer.status_code != 429:
                    break  # a refusal (bad token, no such lead) will not change by waiting
            if attempt < self.attempts:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        raise GraphUnavailable(f"the Graph API did not give lead {leadgen_id} ({last})")


@dataclass
class LeadForm:
    """A lead as its form was filled in."""

    leadgen_id: str
    source: LeadSource
    created_at: datetime | None
    form_id: str | None
    answers: dict[str, str] = field(default_factory=dict)
    ticked: list[str] = field(default_factory=list)
    unticked: list[str] = field(default_factory=list)


def read_lead(body: dict[str, Any]) -> LeadForm:
    answers = {
        str(item.get("name")): ", ".join(str(v) for v in item.get("values") or [])
        for item in body.get("field_data") or []
        if isinstance(item, dict)
    }
    ticked: list[str] = []
    unticked: list[str] = []
    for box in body.get("custom_disclaimer_responses") or []:
        if isinstance(box, dict):
            checked = str(box.get("is_checked", "")).lower() in ("1", "true")
            (ticked if checked else unticked).append(str(box.get("checkbox_key", "")))
    created = body.get("created_time")
    return LeadForm(
        leadgen_id=str(body.get("id")),
        source=LeadSource.INSTAGRAM if body.get("platform") == "ig" else LeadSource.FACEBOOK,
        created_at=_meta_time(created) if isinstance(created, str) else None,
        form_id=str(body["form_id"]) if body.get("form_id") else None,
        answers=answers,
        ticked=ticked,
        unticked=unticked,
    )


def _meta_time(text: str) -> datetime | None:
    for shape in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(text, shape)
        except ValueError:
            continue
    return None


_CONTACT = ("full_name", "first_name", "last_name", "email", "phone_number", "phone")
_CHANNEL_WORDS = ((Channel.WHATSAPP, ("whatsapp",)), (Channel.SMS, ("sms", "text")),
                  (Channel.EMAIL, ("email", "mail")))  # fmt: skip


def consented(form: LeadForm, who: Identity) -> list[Channel]:
    reachable = [Channel.EMAIL] if who.email else []
    if who.phone:
        reachable += [Channel.SMS, Channel.WHATSAPP]
    granted: list[Channel] = []
    for key in form.ticked:
        named = [ch for ch, words in _CHANNEL_WORDS if any(w in key.lower() for w in words)]
        for channel in named or reachable:
            if channel in reachable and channel not in granted:
                granted.append(channel)
    return granted


def person(form: LeadForm) -> tuple[Identity, Details]:
    answers = form.answers
    first, last = answers.get("first_name"), answers.get("last_name")
    if not first and answers.get("full_name"):
        first, _, last = answers["full_name"].partition(" ")
    try:
        email = normalise_email(answers.get("email"))
    except ValueError:
        email = None
    phone = answers.get("phone_number") or answers.get("phone")
    return (
        Identity(phone=phone or None, email=email, phone_field="field_data.phone_number"),
        Details(first_name=first or None, last_name=last or None),
    )


def capture(
    session: Session, reference: Reference, settings: Settings, source: LiveSource, form: LeadForm
) -> Handled:
    """Capture the lead as the web form would, with its consent boxes and its platform."""
    who, details = person(form)
    questions = {k: v for k, v in form.answers.items() if k not in _CONTACT and v}
    message = "\n".join(f"{k.replace('_', ' ')}: {v}" for k, v in questions.items()) or None
    channels = consented(form, who)
    boxes = ", ".join(form.ticked) or "none"
    captured = intake.capture(
        session,
        reference,
        settings,
        source.actor,
        store_id=source.store_id,
        source=form.source.value,
        who=who,
        details=details,
        message=message,
        consented=channels,
        consent_evidence=f"Meta lead form {form.form_id or '?'} (lead {form.leadgen_id}): "
        f"ticked {boxes}",
        event_key=f"meta-lead:{form.leadgen_id}",
        consent_submitted_at=form.created_at,
    )
    return Handled(
        {
            "status": "captured",
            "lead_id": str(captured.lead_id),
            "source": form.source.value,
            "consented": [channel.value for channel in channels],
        },
        lead_id=captured.lead_id,
        effects=captured.effects,
    )
