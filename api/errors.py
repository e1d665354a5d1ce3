"""Errors a person can act on, in the shapes FastAPI already uses, decided in one place.

Field problems answer 422 with FastAPI's validation shape (`detail` is a list of
`{loc, msg, type}`), so a client handles one format whether pydantic or Facet found the
problem. Everything else answers `{"detail": "<what is wrong and what to do>"}`.

The domain raises `DomainError`s; `install` maps each kind to its status once, for every
route. Temporal being unreachable after the rows were written is a 503 that says a retry is
safe (`reaching_temporal`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from temporalio.service import RPCError

from domain.errors import Conflict, DomainError, InvalidField, NotAllowed, NotFound


def _field_detail(field: str, message: str, where: str = "body") -> list[dict[str, object]]:
    """One field's problem as pydantic says it; a dotted name ("customer.phone") is a path."""
    return [{"loc": [where, *field.split(".")], "msg": message, "type": "value_error"}]


def bad_request(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail=message)


def forbidden(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=message)


def unavailable(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, detail=message)


def _answer(error: DomainError) -> JSONResponse:
    if isinstance(error, InvalidField):
        return JSONResponse(
            {"detail": _field_detail(error.field, error.message)},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    code = status.HTTP_400_BAD_REQUEST
    if isinstance(error, NotFound):
        code = status.HTTP_404_NOT_FOUND
    elif isinstance(error, NotAllowed):
        code = status.HTTP_403_FORBIDDEN
    elif isinstance(error, Conflict):
        code = status.HTTP_409_CONFLICT
    return JSONResponse({"detail": str(error)}, status_code=code)


def install(app: FastAPI) -> None:
    """Answer every domain error the same way on every route."""

    async def handle(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DomainError)
        return _answer(error)

    app.add_exception_handler(DomainError, handle)


@asynccontextmanager
async def reaching_temporal(saved: str) -> AsyncIterator[None]:
    """Around the Temporal calls that follow a committed write: if Temporal cannot be reached,
    answer 503 saying what is saved and that sending the same request again is safe."""
    try:
        yield
    except RPCError as error:
        raise unavailable(
            f"{saved} is saved but Temporal could not be reached ({error.message}); "
            "send the same request again"
        ) from error
