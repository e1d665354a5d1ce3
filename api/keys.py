"""API keys, stores and staff from the command line, on the database of DATABASE_URL.

    python -m api.keys create --role pos --name till-1 [--store STORE_ID]
    python -m api.keys create --role associate --name priya --store STORE_ID --staff STAFF_ID
    python -m api.keys list                 # every key: id, prefix, role, scope (no secrets)
    python -m api.keys revoke KEY_ID_OR_PREFIX
    python -m api.keys stores               # ids, names and time zones
    python -m api.keys staff [--store STORE_ID]

It reads DATABASE_URL like `make run` does (default: the embedded SQLite file,
.data/facet.db), so run it with the same setting as the API. A key is printed once, when it
is made; only its hash and its first characters are stored. Unknown ids are answered in one
line with exit code 2; nothing is changed then.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from typing import NoReturn

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api.auth import issue_api_key
from core.settings import get_settings
from core.vocabulary import ApiRole
from db.models import ApiKey, Staff, Store
from db.repositories import ApiKeyRepository, StaffRepository, StoreRepository
from db.session import Database
from db.types import utcnow
from domain.keys import PERSONAL_ROLES

PROG = "python -m api.keys"


class Refused(Exception):
    """What the command will not do, said in one line (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not a usage block: `python -m api.keys create: error: …`, exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    create = commands.add_parser("create", help="create an API key and print it once")
    create.add_argument("--role", required=True, choices=[role.value for role in ApiRole])
    create.add_argument("--name", required=True, help="who or what uses the key, e.g. till-1")
    create.add_argument("--store", type=uuid.UUID, help="limit the key to one store's data")
    create.add_argument(
        "--staff", type=uuid.UUID, help="the staff member an associate key acts for"
    )
    commands.add_parser("list", help="list keys (never their secrets)")
    revoke = commands.add_parser("revoke", help="revoke a key: it stops working at once")
    revoke.add_argument("key", help="the key's id or its prefix (fct_xxxxxxxx), from `list`")
    commands.add_parser("stores", help="list stores")
    staff = commands.add_parser("staff", help="list staff members")
    staff.add_argument("--store", type=uuid.UUID, help="only this store's")
    return parser


def _store(session: Session, store_id: uuid.UUID) -> Store:
    store = StoreRepository(session).get(store_id)
    if store is None:
        raise Refused(f"no store with id {store_id} (`{PROG} stores` lists them)")
    return store


def _checked_scope(
    session: Session, role: ApiRole, store_id: uuid.UUID | None, staff_id: uuid.UUID | None
) -> None:
    """Refuse a key whose scope names nothing, or a personal key without its person."""
    if role in PERSONAL_ROLES and (store_id is None or staff_id is None):
        raise Refused(
            f"an {role} key acts for one person: give --store and --staff "
            f"(`{PROG} staff --store STORE_ID` lists the store's staff)"
        )
    if role not in PERSONAL_ROLES and staff_id is not None:
        raise Refused(f"--staff is for {', '.join(sorted(PERSONAL_ROLES))} keys only")
    if store_id is not None:
        _store(session, store_id)
    if staff_id is not None:
        member = StaffRepository(session).get(staff_id)
        if member is None or member.store_id != store_id:
            raise Refused(
                f"no staff member {staff_id} in store {store_id} "
                f"(`{PROG} staff --store {store_id}` lists them)"
            )
        if not member.active:
            raise Refused(f"staff member {staff_id} ({member.name}) is not active")


def _create(database: Database, args: argparse.Namespace) -> None:
    role = ApiRole(args.role)
    database.read(lambda session: _checked_scope(session, role, args.store, args.staff))
    key = issue_api_key(
        database, name=args.name, role=role, store_id=args.store, staff_id=args.staff
    )
    print(f"API key for {args.name} ({role}); it is shown only this once:")
    print(key)


def _table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> None:
    cells = [[str(cell) if cell is not None else "-" for cell in row] for row in rows]
    widths = [max(len(item) for item in column) for column in zip(header, *cells, strict=False)]
    for row in [list(header), *cells]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _list(database: Database) -> None:
    keys: Sequence[ApiKey] = database.read(lambda session: ApiKeyRepository(session).every())
    _table(
        [
            (
                k.id,
                k.prefix,
                k.name,
                k.role,
                k.store_id,
                k.staff_id,
                f"{k.created_at:%Y-%m-%d}",
                f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else None,
            )
            for k in keys
        ],
        ("id", "prefix", "name", "role", "store", "staff", "created", "revoked"),
    )


def _revoke(database: Database, given: str) -> None:
    def revoke(session: Session) -> str:
        repository = ApiKeyRepository(session)
        key = repository.by_id_or_prefix(given)
        if key is None:
            raise Refused(f"no key with id or prefix {given!r} (`{PROG} list` lists them)")
        if key.revoked_at is not None:
            when = f"{key.revoked_at:%Y-%m-%d %H:%M} UTC"
            return f"{key.prefix} ({key.name}) was already revoked at {when}"
        key.revoked_at = utcnow()
        return f"revoked {key.prefix} ({key.name}, {key.role})"

    print(database.run(revoke))


def _stores(database: Database) -> None:
    stores: Sequence[Store] = database.read(lambda session: StoreRepository(session).every())
    _table(
        [(s.id, s.name, s.timezone, s.country, s.currency) for s in stores],
        ("id", "name", "timezone", "country", "currency"),
    )


def _staff(database: Database, store_id: uuid.UUID | None) -> None:
    def read(session: Session) -> Sequence[Staff]:
        if store_id is None:
            return StaffRepository(session).every()
        _store(session, store_id)
        return StaffRepository(session).for_store(store_id)

    members = database.read(read)
    _table(
        [(m.id, m.store_id, m.name, m.role, "yes" if m.active else "no") for m in members],
        ("id", "store", "name", "role", "active"),
    )


def _run(database: Database, args: argparse.Namespace) -> None:
    commands: dict[str, Callable[[], None]] = {
        "create": lambda: _create(database, args),
        "list": lambda: _list(database),
        "revoke": lambda: _revoke(database, args.key),
        "stores": lambda: _stores(database),
        "staff": lambda: _staff(database, args.store),
    }
    commands[args.command]()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url = get_settings().database_url
    database = Database(url)
    try:
        _run(database, args)
    except Refused as refusal:
        print(f"{PROG} {args.command}: {refusal}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        print(
            f"{PROG} {args.command}: cannot use the database {shown} ({reason}); "
            "is DATABASE_URL the one `make run` uses, and migrated (`python -m db.migrate`)?",
            file=sys.stderr,
        )
        return 1
    finally:
        database.dispose()
    return 0


if __name__ == "__main__":
    # Exit at once, flushed: the Temporal SDK this imports can crash at interpreter exit
    # (sdk-python #300, see TEMPORAL_NOTES).
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
