"""Errors a person can act on, in the shapes FastAPI already uses.

Field problems answer 422 with FastAPI's validation shape (`detail` is a list of
`{loc, msg, type}`), so a client handles one format whether pydantic or Facet found the
problem. Everything else answers `{"detail": "<what is wrong and what to do>"}`.
"""

from __future__ import annotations

from fastapi import HTTPException, status


def field_error(field: str, message: str, *, where: str = "body") -> HTTPException:
    """422 for one field; a dotted name ("customer.phone") becomes a path, as pydantic's."""
    return HTTPException(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": [where, *field.split(".")], "msg": message, "type": "value_error"}],
    )


def not_found(what: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"{what} not found")


def forbidden(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=message)


def conflict(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_409_CONFLICT, detail=message)


def unavailable(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, detail=message)
