"""Console accounts from the command line: the first admin, or anyone, by invite link.

    python -m web.accounts invite --email owner@example.com --role admin
    python -m web.accounts invite --email priya@example.com --role associate --staff-id <uuid>

Prints a one-time link (valid for 7 days) to choose a password. Running it again for someone
who has not used their link yet replaces the old link.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, datetime

from core.settings import get_settings
from core.vocabulary import ApiRole
from db.session import Database
from domain import accounts
from domain.errors import DomainError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    invite = commands.add_parser("invite", help="print a one-time link to set a password")
    invite.add_argument("--email", required=True)
    invite.add_argument("--role", required=True, choices=[r.value for r in ApiRole if r != "pos"])
    invite.add_argument("--name")
    invite.add_argument("--staff-id", type=uuid.UUID)
    invite.add_argument("--store-id", type=uuid.UUID, help="limit an admin or marketer to a branch")
    invite.add_argument("--all-branches", action="store_true", help="a manager of every branch")
    args = parser.parse_args(argv)

    settings = get_settings()
    database = Database(settings.database_url)
    try:
        invitation = database.run(
            lambda session: accounts.invite(
                session,
                settings.secret_key.get_secret_value(),
                email=args.email,
                role=ApiRole(args.role),
                now=datetime.now(UTC),
                name=args.name,
                staff_id=args.staff_id,
                store_id=args.store_id,
                all_branches=args.all_branches,
            )
        )
    except DomainError as error:
        print(f"not invited: {error}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    base = settings.public_base_url.rstrip("/")
    print(f"Invite link (works once, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC):")
    print(f"  {base}/console/invite/{invitation.token}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
