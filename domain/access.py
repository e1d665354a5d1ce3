"""Who is acting, and what they may see: the same rules for an API key and a signed-in person."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from core.vocabulary import ApiRole
from domain.errors import NotAllowed


@dataclass(frozen=True)
class Actor:
    """The caller: a key's (or a person's) name and role, the store it is limited to (None:
    every store), and the staff member it belongs to, if any."""

    key_id: uuid.UUID | None
    name: str
    role: ApiRole
    store_id: uuid.UUID | None
    staff_id: uuid.UUID | None
    # A manager of a chain (a console account) works every branch's tasks.
    all_branches: bool = False

    def may_access_store(self, store_id: uuid.UUID) -> bool:
        return self.store_id is None or self.store_id == store_id

    def check_store(self, store_id: uuid.UUID) -> None:
        if not self.may_access_store(store_id):
            raise NotAllowed("this key is limited to another store")
