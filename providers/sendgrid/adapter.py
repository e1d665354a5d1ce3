"""SendGrid email through the official SDK (v3 Mail Send).

Only opaque ids travel in `custom_args` (the touch and lead ids): SendGrid echoes them in
its event webhook, where Facet matches events back to touches without personal data.
"""

from __future__ import annotations

import base64
from urllib.error import URLError

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Asm,
    Attachment,
    Category,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    GroupId,
    Header,
    Mail,
    ReplyTo,
)

from providers.base import (
    PROVIDER_HTTP_TIMEOUT_SECONDS,
    OutgoingMessage,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderReceipt,
)
from sequences.vocabulary import Purpose


def _retry_after(headers: object) -> float | None:
    value = getattr(headers, "get", lambda _key: None)("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class SendGridEmailProvider:
    name = "sendgrid"
    repeatable = False

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str,
        from_email: str,
        from_name: str | None = None,
        timeout: float = PROVIDER_HTTP_TIMEOUT_SECONDS,
        unsubscribe_groups: dict[Purpose, int] | None = None,
    ) -> None:
        self._client = SendGridAPIClient(api_key=api_key, host=base_url)
        self._client.client.timeout = timeout  # the SDK sets none
        self._from = (from_email, from_name) if from_name else from_email
        self._groups = unsubscribe_groups or {}

    def _mail(self, message: OutgoingMessage) -> Mail:
        to = [message.to, *message.also_to] if message.also_to else message.to
        mail = Mail(from_email=self._from, to_emails=to)
        if message.email_template_id:
            mail.template_id = message.email_template_id
            mail.dynamic_template_data = message.template_data
        else:
            mail.subject = message.subject
            mail.add_content(message.body, "text/html")
        if message.category:
            mail.category = Category(message.category)
        if message.reply_to:
            mail.reply_to = ReplyTo(message.reply_to)
        mail.custom_arg = [CustomArg("touch_id", str(message.touch_id))] + (
            [CustomArg("lead_id", str(message.lead_id))] if message.lead_id else []
        )
        group = self._groups.get(message.purpose) if message.purpose else None
        if group is not None:  # an unsubscribe from marketing leaves receipts coming
            mail.asm = Asm(GroupId(group))
        if message.unsubscribe_url:
            mail.header = [
                Header("List-Unsubscribe", f"<{message.unsubscribe_url}>"),
                Header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ]
        for attached in message.attachments:
            mail.add_attachment(
                Attachment(
                    FileContent(base64.b64encode(attached.content).decode("ascii")),
                    FileName(attached.filename),
                    FileType(attached.media_type),
                    Disposition("attachment"),
                )
            )
        return mail

    def send(self, message: OutgoingMessage) -> ProviderReceipt:
        try:
            response = self._client.send(self._mail(message))
        except HTTPError as error:
            status = int(error.status_code)
            transient = status == 429 or status >= 500
            raise ProviderError(
                self.name,
                permanent=not transient,
                reason="provider_unavailable" if transient else "provider_rejected",
                status=status,
                retry_after=_retry_after(error.headers),
            ) from error
        except TimeoutError as error:  # sent, then no answer in time
            raise ProviderOutcomeUnknown(self.name) from error
        except (URLError, OSError) as error:  # never reached it (a connect timeout included)
            raise ProviderError(self.name, permanent=False, reason="unreachable") from error
        message_id = response.headers.get("X-Message-Id")
        if not message_id:
            raise ProviderError(
                self.name, permanent=False, reason="no_message_id", status=response.status_code
            )
        return ProviderReceipt(provider=self.name, message_id=str(message_id))
