"""With no provider configured, the console tells staff the truth: the lead page and the
inbox card show a message kept in the outbox as `outbox`, never `sent`."""

from __future__ import annotations

import asyncio
import re
import uuid

from core.vocabulary import ApiRole, TouchStatus
from tests.api.test_outbox_status import capture_body
from tests.conftest import api_client, bearer
from tests.factories import welcome_of
from tests.web.people import make_account, signed_in
from tests.web.tasks import open_task


def _shown(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_lead_page_and_the_inbox_show_a_message_kept_in_the_outbox_as_outbox(
    dev_server, database, store, worker_for, api_key
):
    pos = api_key(ApiRole.POS)
    async with (
        worker_for(dev_server.client) as task_queue,
        api_client(database, dev_server.client, task_queue) as http,
    ):
        captured = await http.post("/v1/leads", json=capture_body(store.id), headers=bearer(pos))
        lead_id = uuid.UUID(captured.json()["lead_id"])
        for _ in range(200):
            welcome = welcome_of(database, lead_id)
            if welcome is not None and welcome.status is TouchStatus.OUTBOX:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the welcome never reached the outbox: {welcome}")
        open_task(database, store, lead_id=lead_id, reason="Call Asha about the solitaire")
        me = await signed_in(http, make_account(database, store, "associate"))
        lead_page = _shown((await me.http.get(f"/console/leads/{lead_id}")).text)
        inbox = _shown((await me.http.get("/console/inbox")).text)

    assert "Call Asha about the solitaire" in inbox  # the card of this lead
    for page in (lead_page, inbox):
        assert "· outbox" in page
        assert "· sent" not in page and " sent " not in page.replace("sent by", "")
