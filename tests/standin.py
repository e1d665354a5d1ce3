"""A local HTTP server standing in for SendGrid's and Twilio's APIs.

The real SDKs are pointed at it (SendGrid's `host`, Twilio's `api.base_url`); it records
every request exactly as it arrived and answers like the vendor would: 202 + X-Message-Id
for SendGrid's Mail Send, 201 + a message resource for Twilio. A test can script error
answers (`fail_next`) or hold a request open after recording it (`hold_next`), so a worker
can be killed "after the provider answered" from the provider's point of view.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs

from core.settings import Settings


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    accepted: bool  # answered 2xx (or held): the vendor took the message

    @property
    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def basic_auth(self) -> tuple[str, str]:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        assert scheme == "Basic", self.headers
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        return user, password


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class Loopback:
    """A real HTTP server on a free loopback port, serving `_handler()` on its own thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class StandIn(Loopback):
    """Records requests; answers with scripted replies first, then with success."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._replies: list[Reply] = []
        self._holds = 0
        self.release = threading.Event()
        super().__init__()

    def stop(self) -> None:
        self.release.set()
        super().stop()

    def fail_next(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def hold_next(self) -> None:
        """Accept the next message, then keep its request open until `release` is set."""
        with self._lock:
            self._holds += 1

    def accepted(self, path_part: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.accepted and path_part in r.path]

    def _next(self) -> tuple[Reply | None, bool]:
        with self._lock:
            if self._replies:
                return self._replies.pop(0), False
            if self._holds:
                self._holds -= 1
                return None, True
            return None, False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                scripted, hold = standin._next()
                reply = scripted or _success(self.path, body)
                standin.requests.append(
                    Recorded(
                        "POST",
                        self.path,
                        dict(self.headers.items()),
                        body,
                        accepted=200 <= reply.status < 300,
                    )
                )
                if hold:
                    standin.release.wait(timeout=120)
                payload = json.dumps(reply.body).encode() if reply.body else b""
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def _success(path: str, body: bytes) -> Reply:
    if path.startswith("/v3/mail/send"):
        return Reply(202, headers={"X-Message-Id": f"sg{uuid.uuid4().hex[:20]}"})
    form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
    return Reply(
        201,
        {
            "sid": f"SM{uuid.uuid4().hex}",
            "status": "queued",
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
            "account_sid": path.split("/")[3] if path.count("/") > 3 else None,
        },
    )


def twilio_error(code: int, status: int = 400) -> Reply:
    return Reply(status, {"code": code, "message": f"error {code}", "status": status})


def provider_keys(standin: StandIn) -> dict[str, str]:
    """The settings that point Facet's SendGrid and Twilio providers at this stand-in."""
    return {
        "sendgrid_api_key": "SG.test-key",
        "sendgrid_base_url": standin.url,
        "sendgrid_from_email": "hello@store.example",
        "twilio_account_sid": "AC" + "1" * 32,
        "twilio_auth_token": "twilio-token",
        "twilio_base_url": standin.url,
        "twilio_sms_from": "+15005550006",
        "twilio_whatsapp_from": "+14155238886",
    }


def settings_for(standin: StandIn | None = None) -> Settings:
    """Test settings; with a stand-in, SendGrid and Twilio are configured to call it."""
    return Settings(
        environment="test",
        secret_key="test-secret-that-is-not-a-placeholder",
        public_base_url="https://facet.example",
        **(provider_keys(standin) if standin is not None else {}),  # type: ignore[arg-type]
    )


# --- what SendGrid posts to Facet ----------------------------------------------------------


def inbound_parse_post(
    sender: str,
    text: str,
    *,
    subject: str = "Re: Your ring",
    message_id: str | None = None,
    to: str = "replies@parse.store.example",
) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """An email as SendGrid's Inbound Parse posts it (multipart/form-data; "POST the raw,
    full MIME message" off): the form fields, and an attachment, as httpx's `data`/`files`."""
    message_id = message_id or f"<{uuid.uuid4().hex}@mail.example.com>"
    headers = (
        f"Received: by mx.sendgrid.net with SMTP\nFrom: Asha <{sender}>\nTo: {to}\n"
        f"Subject: {subject}\nMessage-ID: {message_id}\nMIME-Version: 1.0\n"
    )
    fields = {
        "headers": headers,
        "dkim": "{@mail.example.com : pass}",
        "to": to,
        "from": f"Asha <{sender}>",
        "subject": subject,
        "text": text,
        "html": "<div>" + text.replace("\n", "<br>") + "</div>",
        "sender_ip": "203.0.113.9",
        "envelope": json.dumps({"to": [to], "from": sender}),
        "attachments": "1",
        "charsets": json.dumps({"to": "UTF-8", "subject": "UTF-8", "from": "UTF-8"}),
        "SPF": "pass",
        "spam_score": "0.1",
    }
    files = {"attachment1": ("ring.jpg", b"\xff\xd8\xff\xe0 not really a photo", "image/jpeg")}
    return fields, files


class GraphStandIn(Loopback):
    """A local stand-in for Meta's Graph API as lead ads use it: `GET /{leadgen_id}` with the
    Page access token answers the lead (`leads` holds them by id); a wrong token answers 400
    (OAuthException, as Graph does), an unknown id 404; `fail_next` scripts 5xx answers."""

    def __init__(self, access_token: str = "page-access-token") -> None:
        self.access_token = access_token
        self.leads: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self._failures: list[int] = []
        super().__init__()

    @property
    def url(self) -> str:
        return f"{super().url}/v21.0"  # the Graph API's version prefix

    def fail_next(self, *statuses: int) -> None:
        with self._lock:
            self._failures.extend(statuses)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                params = {key: values[0] for key, values in parse_qs(query).items()}
                graph.requests.append(self.path)
                with graph._lock:
                    failure = graph._failures.pop(0) if graph._failures else None
                leadgen_id = path.rsplit("/", 1)[-1]
                body: dict[str, Any]
                if failure is not None:
                    status, body = failure, {"error": {"message": "temporarily unavailable"}}
                elif params.get("access_token") != graph.access_token:
                    status, body = 400, {"error": {"type": "OAuthException", "code": 190}}
                elif leadgen_id not in graph.leads:
                    status, body = 404, {"error": {"message": "Unsupported get request"}}
                else:
                    status, body = 200, graph.leads[leadgen_id]
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
