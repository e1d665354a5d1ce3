"""Twilio SMS and WhatsApp through the official SDK (Programmable Messaging).

Every message names a status callback, so delivery reports reach the Touch. WhatsApp
outside the 24-hour window goes as an approved template (Content SID + variables): the send
gate decides which, this adapter only spells it.
"""

from __future__ import annotations

import json

from requests.exceptions import ReadTimeout
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from providers.base import (
    PROVIDER_HTTP_TIMEOUT_SECONDS,
    OutgoingMessage,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderReceipt,
)
from sequences.vocabulary import Channel

# Twilio error codes that will not change on a retry, and what they mean for the gate.
PERMANENT_CODES = {
    21610: "opted_out",  # the recipient replied STOP to this sender
    21211: "invalid_contact",  # not a valid phone number
    21614: "invalid_contact",  # not a mobile number
    21612: "invalid_contact",  # cannot route to this number
    63016: "window_closed",  # WhatsApp free-form outside the 24-hour window
}


class TwilioMessagingProvider:
    name = "twilio"
    repeatable = False

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        base_url: str,
        status_callback_url: str,
        sms_from: str | None,
        whatsapp_from: str | None,
        timeout: float = PROVIDER_HTTP_TIMEOUT_SECONDS,
    ) -> None:
        self._client = Client(
            account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout)
        )
        self._client.api.base_url = base_url.rstrip("/")
        self._status_callback = status_callback_url
        self._sms_from = sms_from
        self._whatsapp_from = whatsapp_from

    def send(self, message: OutgoingMessage) -> ProviderReceipt:
        """One Messages resource; WhatsApp is the same API with `whatsapp:` addresses."""
        if message.channel is Channel.WHATSAPP:
            return self._create(
                message, to=f"whatsapp:{message.to}", from_=f"whatsapp:{self._whatsapp_from}"
            )
        sender = self._sms_from or ""
        if sender.startswith("MG"):
            return self._create(message, to=message.to, messaging_service_sid=sender)
        return self._create(message, to=message.to, from_=sender)

    def _create(self, message: OutgoingMessage, **addressing: str) -> ProviderReceipt:
        if message.content_sid:
            content = {
                "content_sid": message.content_sid,
                "content_variables": json.dumps(message.content_variables),
            }
        else:
            content = {"body": message.body}
        try:
            created = self._client.messages.create(
                **addressing, **content, status_callback=self._status_callback
            )
        except TwilioRestException as error:
            transient = error.status == 429 or error.status >= 500
            reason = PERMANENT_CODES.get(error.code or 0, "provider_rejected")
            raise ProviderError(
                self.name,
                permanent=not transient,
                reason="provider_unavailable" if transient else reason,
                status=error.status,
                code=error.code,
            ) from error
        except ReadTimeout as error:  # sent, then no answer in time
            raise ProviderOutcomeUnknown(self.name) from error
        except (TwilioException, OSError) as error:
            raise ProviderError(self.name, permanent=False, reason="unreachable") from error
        return ProviderReceipt(provider=self.name, message_id=str(created.sid))
