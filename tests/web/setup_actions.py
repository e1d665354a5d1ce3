"""Store setup's rows of the authorisation table: every setup page and form action, tried by
one signed-in person, with what each role should get."""

from __future__ import annotations

from collections.abc import Callable

from core.vocabulary import ApiRole
from db.models import Store
from db.session import Database
from domain import keys
from sequences.vocabulary import StaffRole
from tests.web.people import Signed, staff_of

ADMINS = {"admin"}


def branch_form(store: Store, **changes: str) -> dict[str, str]:
    return {
        "name": store.name,
        "timezone": store.timezone,
        "country": store.country,
        "region": store.region or "",
        "currency": store.currency,
        "locale": store.locale,
        "address": store.address or "",
        "phone": store.phone or "",
        "max_per_day": "",
        "max_per_week": "",
        **changes,
    }


STAFF_FORM = {
    "name": "Kavya Menon",
    "role": "associate",
    "expertise": "bridal, polki",
    "languages": "en, ml",
    "capacity": "12",
    "notice_channel": "",
    "phone": "",
    "email": "",
    "active": "1",
}


async def setup_matrix(
    me: Signed, database: Database, store: Store, verdict: Callable[[int], str]
) -> dict[str, str]:
    """What `me` gets from each setup page and action on their own branch."""
    http, seen = me.http, {}
    member = staff_of(database, store, StaffRole.DESIGNER)
    for name, path in (
        ("GET setup", "/console/setup"),
        ("GET setup new branch", "/console/setup/branches/new"),
        ("GET setup branch", f"/console/setup/branches/{store.id}"),
        ("GET setup new staff", f"/console/setup/branches/{store.id}/staff/new"),
        ("GET setup staff", f"/console/setup/staff/{member.id}"),
        ("GET setup keys", "/console/setup/keys"),
    ):
        seen[name] = verdict((await http.get(path)).status_code)
    posts = (
        ("POST setup new branch", "/console/setup/branches", branch_form(store, name="Second")),
        ("POST setup branch", f"/console/setup/branches/{store.id}", branch_form(store)),
        ("POST setup new staff", f"/console/setup/branches/{store.id}/staff", STAFF_FORM),
        (
            "POST setup staff",
            f"/console/setup/staff/{member.id}",
            {**STAFF_FORM, "name": member.name, "role": "designer"},
        ),
        (
            "POST setup invite",
            f"/console/setup/staff/{member.id}/invite",
            {"email": f"designer.{store.id.hex[:8]}@example.com"},
        ),
        ("POST setup new key", "/console/setup/keys", {"name": "till-9", "role": "pos"}),
    )
    for name, path, data in posts:
        seen[name] = verdict((await me.post(path, data)).status_code)
    till = database.run(
        lambda session: keys.issue(session, name="till-0", role=ApiRole.POS, store_id=store.id)
    )
    answer = await me.post(f"/console/setup/keys/{till.key_id}/revoke")
    seen["POST setup revoke key"] = verdict(answer.status_code)
    return seen


def setup_expected(role: str) -> dict[str, str]:
    """Setup is the admin's; an admin limited to one branch (as every account in the table
    is) manages that branch, and cannot open another."""
    admin = role in ADMINS
    allowed = "allowed" if admin else "403"
    return {
        "GET setup": allowed,
        "GET setup new branch": "403",
        "GET setup branch": allowed,
        "GET setup new staff": allowed,
        "GET setup staff": allowed,
        "GET setup keys": allowed,
        "POST setup new branch": "403",
        "POST setup branch": allowed,
        "POST setup new staff": allowed,
        "POST setup staff": allowed,
        "POST setup invite": allowed,
        "POST setup new key": allowed,
        "POST setup revoke key": allowed,
    }
