"""The console's part of the app: its routes, its static files, and how it says no.

`install(app)` is the one line `api.app.create_app` needs.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from web import (
    campaigns,
    capture,
    dashboard,
    imports,
    inbox,
    journey_steps,
    leads,
    library,
    session,
    setup,
    sign_in,
)
from web.pages import HERE, Refused, SignInNeeded, problem, to_sign_in
from web.throttle import SignInThrottle


def install(app: FastAPI) -> None:
    """Add the console's pages (under /console) and static files to the app."""
    app.state.sign_in_throttle = SignInThrottle()
    app.include_router(sign_in.router)
    app.include_router(inbox.router)
    app.include_router(leads.router)
    app.include_router(capture.router)  # public enquiry forms (/f/…) and /console/capture
    app.include_router(setup.router)
    app.include_router(journey_steps.router)  # before the library's /{key}
    app.include_router(library.router)
    app.include_router(campaigns.router)
    app.include_router(dashboard.router)
    app.include_router(imports.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")

    async def sign_in_needed(request: Request, _error: Exception) -> Response:
        if request.method == "GET":
            return to_sign_in(request)
        return problem(request, 401, "Sign in first.")

    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, Refused | session.FormRefused)
        return problem(request, error.status, error.message)

    app.add_exception_handler(SignInNeeded, sign_in_needed)
    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(session.FormRefused, refused)
