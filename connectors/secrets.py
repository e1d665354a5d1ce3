"""Make, rotate and retire the signing secrets of store systems (an admin's command).

    python -m connectors.secrets rotate --source jewelmate-mg-road --store <store id>
        a new secret for that source (contract kind), shown once; the previous one still
        verifies until `retire`, so the store system can switch without losing deliveries
    python -m connectors.secrets rotate --source shopify:gems.myshopify.com --kind shopify \\
        --store <id> --secret "$SHOPIFY_APP_SECRET"
        Shopify and Meta make their own secrets: give it, Facet keeps it encrypted
    python -m connectors.secrets retire --source jewelmate-mg-road
        only the newest secret verifies from now on

Secrets are stored encrypted with a key derived from SECRET_KEY (changing SECRET_KEY means
issuing them again).
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid

from core.settings import get_settings
from db.session import Database
from db.types import utcnow
from domain.errors import DomainError
from domain.integrations import KINDS, issue_secret, retire_previous


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m connectors.secrets")
    commands = parser.add_subparsers(dest="command", required=True)
    rotate = commands.add_parser("rotate", help="make (or rotate) a source's secret")
    rotate.add_argument("--source", required=True)
    rotate.add_argument("--store", required=True, type=uuid.UUID)
    rotate.add_argument("--kind", choices=KINDS, default="contract")
    rotate.add_argument("--secret", help="the vendor's secret (Shopify, Meta); default: a new one")
    retire = commands.add_parser("retire", help="end a rotation: only the newest verifies")
    retire.add_argument("--source", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    key = settings.secret_key.get_secret_value()
    database = Database(settings.database_url)
    try:
        if args.command == "rotate":
            issued = database.run(
                lambda session: issue_secret(
                    session,
                    key,
                    source=args.source,
                    kind=args.kind,
                    store_id=args.store,
                    now=utcnow(),
                    given=args.secret,
                )
            )
            sys.stdout.write(
                f"source {issued.source}: {issued.live} live secret(s)\n"
                f"new secret (shown once): {issued.secret}\n"
            )
        else:
            retired = database.run(lambda session: retire_previous(session, args.source, utcnow()))
            sys.stdout.write(f"source {args.source}: retired {retired} older secret(s)\n")
    except DomainError as error:
        sys.stderr.write(f"{error}\n")
        return 2
    finally:
        database.dispose()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
