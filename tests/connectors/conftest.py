"""The connectors' commands run against the real app, as the API tests do."""

from tests.api.conftest import http

__all__ = ["http"]
