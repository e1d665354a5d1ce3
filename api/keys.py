"""`python -m api.keys create --role pos --name till-1 [--store STORE_ID]` prints a key once."""

from __future__ import annotations

import argparse
import sys
import uuid

from api.auth import issue_api_key
from core.settings import get_settings
from core.vocabulary import ApiRole
from db.session import Database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create an API key and print it once")
    create.add_argument("--role", required=True, choices=[role.value for role in ApiRole])
    create.add_argument("--name", required=True, help="who or what uses the key, e.g. till-1")
    create.add_argument("--store", type=uuid.UUID, help="limit the key to one store's data")
    create.add_argument("--staff", type=uuid.UUID, help="the staff member an associate key is for")
    args = parser.parse_args(argv)

    database = Database(get_settings().database_url)
    try:
        key = issue_api_key(
            database,
            name=args.name,
            role=ApiRole(args.role),
            store_id=args.store,
            staff_id=args.staff,
        )
    finally:
        database.dispose()
    print(f"API key for {args.name} ({args.role}); it is shown only this once:")
    print(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
