"""`python -m db.migrate`: bring the schema to the latest revision and publish the library."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

from core.logging import configure_logging
from core.settings import PROJECT_ROOT, get_settings
from db.library import publish_library
from db.session import Database

log = logging.getLogger("facet.migrate")


def alembic_config(database_url: str) -> Config:
    config = Config(str(Path(PROJECT_ROOT) / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(database_url: str) -> None:
    """Upgrade to head, then publish library sequences that changed. Safe to run again."""
    command.upgrade(alembic_config(database_url), "head")
    database = Database(database_url)
    try:
        versions = database.run(publish_library)
    finally:
        database.dispose()
    for version in versions:
        log.info("sequence %s is at version %d", version.key, version.version)


def main() -> None:
    configure_logging()
    migrate(get_settings().database_url)


if __name__ == "__main__":
    main()
