"""The one settings class. Every process reads its configuration here and nowhere else."""

from __future__ import annotations

import uuid
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / ".data"

# Values that mean "nobody set this yet". Outside development they are refused at start-up,
# so a forgotten secret stops the service instead of signing tokens with a known value.
PLACEHOLDER_SECRETS = frozenset({"", "changethis", "change-me", "dev-secret", "secret"})


class Settings(BaseSettings):
    """Facet's configuration, from environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    environment: Literal["development", "test", "production"] = "development"

    database_url: str = Field(
        default=f"sqlite:///{DATA_DIR / 'facet.db'}",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user:pw@host/db",
    )

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "facet"

    # Signs one-click unsubscribe links and other tokens Facet hands out.
    secret_key: SecretStr = SecretStr("dev-secret")

    # Sequence a lead is enrolled in when no sequence names the lead's segment.
    fallback_sequence_key: str = "welcome"
    # The same person's identical enquiry (same source, message and segment) within this many
    # minutes is one enquiry: a form's retry or a double tap is not new interest.
    enquiry_repeat_minutes: int = Field(default=30, ge=1, le=24 * 60)

    # How long the worker lets in-flight activities finish on shutdown.
    worker_graceful_shutdown_seconds: float = 30.0
    # Intake first: beyond a small floor, the worker takes on new work only while the
    # machine's CPU is below this share, so a burst of captures is not slowed by the journeys
    # it starts (they catch up when it is over). 0 turns it off: fixed-size slots.
    worker_target_cpu: float = Field(default=0.7, ge=0, le=1)
    # Journeys the worker keeps in memory between their workflow tasks (~200 KB each, measured),
    # least recently used dropped first. One that was dropped replays its history on its next
    # task: keep it above the journeys a burst has in flight (the SDK's default is 1000).
    worker_max_cached_workflows: int = Field(default=2000, ge=0)
    # Where the worker serves the Temporal SDK's metrics (Prometheus text at /metrics),
    # e.g. 127.0.0.1:9464; unset: not served.
    worker_metrics_address: str | None = None

    # Qualification: the score's decay and tiers, and when a store's own model may be fitted.
    score_half_life_days: float = 14.0
    score_hot_at: int = 65
    score_warm_at: int = 40
    # What a person opening a marketing email, or clicking a link in one, adds to the score.
    score_email_open_points: float = Field(default=1.0, ge=0, le=20)
    score_email_click_points: float = Field(default=5.0, ge=0, le=20)
    model_min_labelled_leads: int = 200
    model_min_purchases: int = 20
    # The worker creates the nightly refit and going-cold schedules at start unless false.
    create_schedules: bool = True

    # Providers: a channel whose keys are absent stays on the outbox (nothing leaves Facet).
    sendgrid_api_key: SecretStr | None = None
    sendgrid_base_url: str = "https://api.sendgrid.com"
    sendgrid_from_email: str = "hello@facet.invalid"
    sendgrid_from_name: str | None = None
    # Base64 DER public key of SendGrid's signed Event Webhook ("Verification Key").
    sendgrid_webhook_public_key: str | None = None
    # The secret path segment of the Inbound Parse URL set in SendGrid
    # (…/v1/webhooks/sendgrid/inbound/<secret>): email replies are refused without it. It is
    # all that guards the route, so it must be long enough not to be guessed.
    sendgrid_inbound_secret: SecretStr | None = Field(default=None, min_length=16)
    # The Inbound Parse receiving domain (e.g. reply.store.example): set, every email to a
    # lead carries Reply-To reply+<lead token>@<domain>, so a reply from any address finds them.
    sendgrid_reply_domain: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_base_url: str = "https://api.twilio.com"
    twilio_sms_from: str | None = None  # E.164 number or Messaging Service SID (MG…)
    twilio_whatsapp_from: str | None = None  # E.164 number of the WhatsApp sender
    # The branch a WhatsApp message from an unknown number becomes a lead of (unset: the only
    # branch, when there is just one; else such a message is not recorded).
    whatsapp_store_id: uuid.UUID | None = None
    # How long a provider may take to answer one request (well inside the 30 s send attempt).
    provider_timeout_seconds: float = Field(default=15.0, gt=0, le=25)
    # WhatsApp templates this store had approved, by Facet template name, e.g.
    # WHATSAPP_CONTENT_SIDS='{"engagement/welcome": "HX…"}'. Outside the 24-hour window
    # WhatsApp only accepts these; a template without one falls back to another channel.
    whatsapp_content_sids: dict[str, str] = Field(default_factory=dict)
    # SendGrid dynamic templates this store designed, by Facet template name
    # (SENDGRID_TEMPLATE_IDS='{"engagement/welcome": "d-…"}'): sent with the merge fields.
    sendgrid_template_ids: dict[str, str] = Field(default_factory=dict)
    # SendGrid unsubscribe groups, so an unsubscribe leaves marketing only: marketing email
    # goes in the first, receipts and service messages in the second (ids from SendGrid's
    # Suppressions → Unsubscribe Groups). Unset: no group (SendGrid's global unsubscribe).
    sendgrid_marketing_group_id: int | None = None
    sendgrid_service_group_id: int | None = None

    # The URL the outside world reaches Facet on. Twilio signs the URL it called, so webhook
    # signatures are checked against this, never against the request's Host header; it is
    # also the base of unsubscribe links and status-callback URLs.
    public_base_url: str = "http://127.0.0.1:8000"
    # Signed webhook bodies older (or newer) than this are refused as replays.
    webhook_max_age_seconds: int = 600

    # Store systems (connectors/). A Facet-Signature more than this many seconds from now,
    # either way, is refused (a replayed or badly clocked delivery).
    integration_signature_tolerance_seconds: int = Field(default=300, ge=30, le=3600)
    # Shopify retries a failed delivery 8 times over 4 hours with its first X-Shopify-
    # Triggered-At: a delivery triggered longer ago than this (5 h) can only be a replay.
    shopify_max_delivery_age_seconds: int = Field(default=5 * 3600, ge=60)
    # Meta lead ads: the token typed into the app's webhook setup (echoed in the handshake),
    # the Page access token that reads leads, and the Graph API's base URL (tests: a stand-in).
    meta_verify_token: SecretStr | None = None
    meta_page_access_token: SecretStr | None = None
    meta_graph_base_url: str = "https://graph.facebook.com/v21.0"
    # Attempts at reading one lead from the Graph API before the delivery is answered 503
    # (Meta then delivers it again, and the next delivery reads it).
    meta_graph_attempts: int = Field(default=3, ge=1, le=10)

    # Valigara (its action API, for one branch's inventory): unset key, no Valigara at all.
    # Set, the worker pulls the catalogue on a schedule and tells Valigara of each sale of a
    # piece that came from it (`product_sold`, with VALIGARA_SOLD_ACTION: remove delists it,
    # revise updates its listings, no_action, Valigara's default, leaves them).
    valigara_access_key: SecretStr | None = None
    valigara_base_url: str = "https://api.valigara.com/client/V1/"
    # The branch whose catalogue Valigara holds (unset: the only branch, when there is one).
    valigara_store_id: uuid.UUID | None = None
    valigara_sold_action: Literal["remove", "revise", "no_action"] = "no_action"
    valigara_pull_every_minutes: int = Field(default=360, ge=15, le=7 * 24 * 60)
    # Valigara's docs name no action for one product's details: the one the account uses.
    valigara_details_action: str = Field(default="product_get", pattern=r"^[a-z_]{1,64}$")
    # How often one call of the catalogue pull waits out a 105 (rate limit) in the worker
    # before the activity hands the wait to Temporal, which retries it after the wait
    # Valigara advised. `product_sold` hands every 105 to Temporal at once.
    valigara_rate_limit_waits: int = Field(default=2, ge=0, le=10)

    # The largest request body the API reads (413 beyond it, before parsing). Webhooks get
    # more: SendGrid batches events up to 768 KB.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_webhook_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # A CSV import streams to disk as it arrives, so it may be far larger than any JSON body.
    max_import_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)

    # Marketing frequency caps across all of a lead's journeys (a store may set its own).
    max_marketing_per_day: int = 1
    max_marketing_per_week: int = 3

    @property
    def sendgrid_configured(self) -> bool:
        return self.sendgrid_api_key is not None

    @property
    def twilio_configured(self) -> bool:
        return self.twilio_account_sid is not None and self.twilio_auth_token is not None

    @property
    def valigara_configured(self) -> bool:
        return self.valigara_access_key is not None

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "development":
            return self
        if (
            self.valigara_access_key is not None
            and self.valigara_access_key.get_secret_value() in PLACEHOLDER_SECRETS
        ):
            raise ValueError(
                "VALIGARA_ACCESS_KEY is a placeholder; set the key from Valigara's "
                "My Account → API, or leave it unset to run without Valigara"
            )
        if self.secret_key.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError(
                f"SECRET_KEY is a placeholder; set a random value before running in "
                f"{self.environment} (for example: python -c 'import secrets; "
                f"print(secrets.token_urlsafe(32))')"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
