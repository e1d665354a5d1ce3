"""Logging set-up shared by the API, the worker and the command-line tools."""

from __future__ import annotations

import logging


def configure_logging(level: int = logging.INFO) -> None:
    """Plain, timestamped lines on stderr. Log lead ids, never phone numbers or emails."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
