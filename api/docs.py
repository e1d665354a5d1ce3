"""The API's own documentation: pages that work offline, and every answer a route can give.

`/docs` (Swagger UI) and `/redoc` (ReDoc) load their scripts from the files the
`fastapi-offline` package installs (swagger-ui-dist 5 and ReDoc's standalone bundle), served
here under `/docs-assets/`, so they render on a machine with no internet. ReDoc's bundle
shows Redocly's logo from their CDN; it is served with that one address pointed at the local
favicon, so nothing at all is fetched from elsewhere.

`document_answers` adds to each route the answers that follow from its shape, so a new
route is documented without anyone remembering to: a body can be unreadable (400), too large
(413) or invalid (422); a key can be missing (401) or not enough (403); a path id can name
nothing (404); a route that tells Temporal can find it unreachable (503, safe to retry).
What only a route knows (a 409) it declares in its decorator, and its own words there win.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import BaseRoute

from api.auth import authenticate
from api.deps import BackendDep, TemporalDep
from api.idempotency import IdempotentRoute

ASSETS = "/docs-assets"
_ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def _asset(name: str) -> bytes:
    content = (files("fastapi_offline") / "static" / name).read_bytes()
    if name == "redoc.standalone.js":
        content = content.replace(_REDOC_LOGO, f"{ASSETS}/favicon.png".encode())
    return content


def install_docs(app: FastAPI) -> None:
    """Serve /docs, /redoc and their assets (create the app with docs_url=redoc_url=None)."""
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} — API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} — API",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in _ASSET_TYPES:
            raise HTTPException(status_code=404, detail=f"no documentation asset {name!r}")
        return Response(
            _asset(name),
            media_type=_ASSET_TYPES[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )


Responses = dict[int | str, dict[str, Any]]


class Problem(BaseModel):
    """What is wrong and what to do about it."""

    detail: str


ANSWERS: dict[int, str] = {
    400: "The body could not be read, or the request contradicts itself",
    401: "Missing, unknown or revoked API key",
    403: "The key's role or store does not allow this",
    404: "Nothing has the id given in the path",
    409: "The Idempotency-Key was used with another body, or its first request is still being "
    "answered; nothing was recorded",
    413: "The body is larger than this API accepts (MAX_BODY_BYTES; webhooks "
    "MAX_WEBHOOK_BODY_BYTES); nothing was read or recorded",
    422: "A field (or the path or query) is invalid; `detail[].loc` names it",
    503: "Saved, but Temporal could not be reached: sending the same request again is safe",
}

_WITH_BODY = {"POST", "PUT", "PATCH"}


def answer(code: int, description: str | None = None) -> dict[str, Any]:
    """One documented answer; 422 keeps FastAPI's own validation schema."""
    documented: dict[str, Any] = {"description": description or ANSWERS[code]}
    if code != 422:
        documented["model"] = Problem
    return documented


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


def _calls(route: APIRoute) -> set[Callable[..., Any]]:
    return {dep.call for dep in _dependencies(route.dependant) if dep.call is not None}


def _dependency_call(annotated: Any) -> Callable[..., Any]:
    call: Callable[..., Any] = annotated.__metadata__[0].dependency
    return call


def _codes(route: APIRoute) -> list[int]:
    calls = _calls(route)
    codes = [422]  # a NUL in the path or query reaches every route's guard
    if (route.methods or set()) & _WITH_BODY:
        codes += [400, 413]
        if isinstance(route, IdempotentRoute):
            codes.append(409)
    if authenticate in calls:
        codes += [401, 403]
    if route.dependant.path_params:
        codes.append(404)
    if calls & {_dependency_call(BackendDep), _dependency_call(TemporalDep)}:
        codes.append(503)
    return sorted(codes)


def _has_parameters(route: APIRoute) -> bool:
    every = [route.dependant, *_dependencies(route.dependant)]
    return bool(route.body_field) or any(
        dep.path_params or dep.query_params or dep.header_params for dep in every
    )


def _problem(code: int) -> bool:
    return 400 <= code < 600 and code != 422


def document_answers(routes: Sequence[BaseRoute]) -> None:
    """Add the answers each route can give by its shape; what a route declares itself wins."""
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        documented: Responses = {}
        for code in _codes(route):
            if code == 422 and _has_parameters(route):
                continue  # FastAPI documents it with its validation schema
            documented[code] = answer(code)
        for key, declared in route.responses.items():
            code = int(key)
            shape = {"model": Problem} if _problem(code) else {}
            documented[code] = {**documented.get(code, shape), **declared}
        route.responses = dict(sorted(documented.items(), key=lambda item: str(item[0])))
