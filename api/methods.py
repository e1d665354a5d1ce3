"""`Allow` that lists every method a path answers, on OPTIONS and on a 405 alike.

Starlette routes each (path, method) pair separately, so a path served by two routes (GET and
POST /v1/sequences) answered `Allow: GET` — the first route's methods only. This middleware
asks every route: OPTIONS on a known path answers 204 with the whole list, and a 405's
`Allow` is replaced by it.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """The methods routes serve at the scope's path (OPTIONS included), or [] if none does."""
    methods: set[str] = set()
    for route in iter_route_contexts(routes):  # the routes of included routers too
        served = route.methods
        if served and route.matches(scope)[0] != Match.NONE:
            methods.update(served)
    return sorted({*methods, "OPTIONS"}) if methods else []


class AllowedMethods:
    """ASGI middleware: OPTIONS and 405 name all the methods of the path."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            methods = allowed_methods(self.routes, scope)
            if methods:
                await _no_content(send, methods)
                return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(allowed_methods(self.routes, scope)).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await self.app(scope, receive, send_with_allow)


async def _no_content(send: Send, methods: list[str]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [(b"allow", ", ".join(methods).encode())],
        }
    )
    await send({"type": "http.response.body", "body": b""})
