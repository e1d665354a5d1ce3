"""Message templates: one YAML file per template, one variant per channel, rendered by Jinja2.

Marketing staff write templates, so they are untrusted: they render in Jinja2's sandbox, with
HTML autoescaped for email bodies and undefined merge fields raising instead of printing blanks.
A template may have translations beside it, `<name>.<language>.yaml` (`task/notice.hi.yaml`);
asked for a language it lacks, the template's own file answers.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sequences.vocabulary import Channel

TEMPLATE_DIR = Path(__file__).parent / "templates"


class TemplateProblem(ValueError):
    """A template that cannot be used, named with its file and the reason."""


class EmailVariant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    subject: str = Field(min_length=1)
    body: str = Field(min_length=1)


class MessageTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    email: EmailVariant | None = None
    sms: str | None = None
    whatsapp: str | None = None
    # An approved WhatsApp template (Twilio Content SID, "HX…") for use outside the 24-hour
    # window after the lead's last message, and its numbered variables as merge-field names,
    # e.g. {"1": "first_name", "2": "store_name"}.
    # A SendGrid dynamic template ("d-…") to send instead of the rendered subject and body.
    sendgrid_template_id: str | None = Field(default=None, pattern=r"^d-[0-9a-f]{32}$")
    whatsapp_content_sid: str | None = Field(default=None, pattern=r"^HX[0-9a-fA-F]{32}$")
    whatsapp_content_variables: dict[str, str] = Field(default_factory=dict)

    def uses(self, field: str) -> bool:
        """Whether any variant mentions the merge field (so it is worth reading)."""
        texts = [self.sms or "", self.whatsapp or ""]
        if self.email is not None:
            texts += [self.email.subject, self.email.body]
        return any(field in text for text in texts)

    def channels(self) -> set[Channel]:
        present = {
            Channel.EMAIL: self.email,
            Channel.SMS: self.sms,
            Channel.WHATSAPP: self.whatsapp,
        }
        return {channel for channel, variant in present.items() if variant}


class Pick(BaseModel):
    """A piece from stock chosen for the lead (domain.catalogue.picks_for), as a template
    shows it: `{% for piece in picks %}{{ piece.title }}, {{ piece.price }}{% endfor %}`."""

    model_config = ConfigDict(frozen=True)
    sku: str
    title: str
    metal: str = ""  # e.g. "18K gold"
    price: str = ""  # e.g. "INR 1,85,000" as the store writes it
    image_url: str = ""


def spoken_price(minor: int | None, currency: str) -> str:
    """A price in whole units with its currency: "INR 185,000"."""
    return f"{currency} {minor // 100:,}" if minor is not None else ""


class MergeFields(BaseModel):
    """What a template may use. Activities fill it from the database at send time."""

    model_config = ConfigDict(frozen=True)
    first_name: str
    store_name: str
    store_phone: str = ""
    store_address: str = ""
    associate_name: str = ""
    occasion_date: str = ""  # e.g. "14 June", the date the journey counts down to
    items: str = ""  # what the lead bought, e.g. "solitaire ring, wedding band"
    # In-stock pieces chosen for the lead; filled only for a template that mentions `picks`.
    picks: tuple[Pick, ...] = ()


class NoticeFields(BaseModel):
    """What a task notice to a member of staff may say (`task/notice`)."""

    model_config = ConfigDict(frozen=True)
    staff_name: str
    store_name: str
    priority: str  # hot, warm, cold
    task: str  # the task's kind, spoken: "certification question"
    lead_name: str
    reason: str
    due: str = ""  # the SLA due time on the store's clock, e.g. "01 Dec 15:30 IST"
    link: str = ""  # the task in the console (signed, expiring; the page still needs sign-in)


SAMPLE_FIELDS = MergeFields(
    first_name="Asha",
    store_name="Facet Demo Jewellers",
    store_phone="+91 80 4000 0000",
    store_address="12 MG Road, Bengaluru",
    associate_name="Priya",
    occasion_date="14 June",
    items="solitaire ring",
    picks=(
        Pick(sku="R-101", title="Oval solitaire", metal="PT950 platinum", price="INR 185,000"),
        Pick(sku="R-204", title="Halo ring", metal="18K gold", price="INR 142,000"),
    ),
)


class RenderedMessage(BaseModel):
    model_config = ConfigDict(frozen=True)
    subject: str | None
    body: str


_text = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_html = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


@lru_cache(maxsize=1024)
def _compiled(source: str, *, html: bool = False) -> Template:
    """Compile a template's text once per process (by its content, so an edit is a new entry)."""
    return (_html if html else _text).from_string(source)


@lru_cache(maxsize=256)
def load_template(
    name: str, directory: Path = TEMPLATE_DIR, language: str | None = None
) -> MessageTemplate:
    """Read `<directory>/<name>.yaml` (or its `language` translation, when there is one);
    raise TemplateProblem naming the file when it is bad."""
    translated = directory / f"{name}.{language}.yaml" if language else None
    path = translated if translated and translated.is_file() else directory / f"{name}.yaml"
    if not path.is_file():
        raise TemplateProblem(f"unknown template {name!r} (expected {path.name} in templates/)")
    try:
        return MessageTemplate.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValidationError) as error:
        raise TemplateProblem(f"template {name!r}: {error}") from error


def render(
    name: str,
    channel: Channel,
    fields: BaseModel,
    directory: Path = TEMPLATE_DIR,
    language: str | None = None,
) -> RenderedMessage:
    """Render `name` for `channel` with `fields` (a lead's MergeFields, a notice's
    NoticeFields). Raises TemplateProblem if it has no such variant."""
    template = load_template(name, directory, language)
    context = fields.model_dump()
    try:
        if channel is Channel.EMAIL and template.email is not None:
            return RenderedMessage(
                subject=_compiled(template.email.subject).render(context),
                body=_compiled(template.email.body, html=True).render(context),
            )
        text = template.sms if channel is Channel.SMS else template.whatsapp
        if channel is not Channel.EMAIL and text:
            return RenderedMessage(subject=None, body=_compiled(text).render(context))
    except TemplateError as error:
        raise TemplateProblem(f"template {name!r} ({channel}): {error}") from error
    raise TemplateProblem(f"template {name!r} has no {channel} variant")


def content_variables(
    name: str, fields: MergeFields, directory: Path = TEMPLATE_DIR
) -> dict[str, str]:
    """The WhatsApp template's numbered variables, filled from the merge fields."""
    template = load_template(name, directory)
    values = fields.model_dump()
    missing = set(template.whatsapp_content_variables.values()) - set(values)
    if missing:
        raise TemplateProblem(f"template {name!r}: unknown merge fields {sorted(missing)}")
    return {key: str(values[field]) for key, field in template.whatsapp_content_variables.items()}


def check_template(name: str, directory: Path = TEMPLATE_DIR) -> None:
    """Publish-time check: every variant renders with the sample merge fields."""
    template = load_template(name, directory)
    if not template.channels():
        raise TemplateProblem(f"template {name!r} has no variant for any channel")
    for channel in template.channels():
        render(name, channel, SAMPLE_FIELDS, directory)
