"""With no provider configured, a message is written to the outbox and the API says so:
`outbox`, never `sent`, on the lead's timeline — while the caps still count it."""

from __future__ import annotations

import uuid

from core.vocabulary import ApiRole
from tests.api.conftest import settled_touches
from tests.conftest import bearer
from tests.factories import afternoon_zone, indian_mobile


def capture_body(store_id: uuid.UUID) -> dict[str, object]:
    """A WhatsApp enquiry with consent on email and WhatsApp, inside the send window."""
    return {
        "store_id": str(store_id),
        "source": "whatsapp",
        "first_name": "Asha",
        "phone": indian_mobile()[3:],
        "email": f"asha.{uuid.uuid4().hex[:8]}@example.com",
        "segment": "engagement",
        "preferred_channel": "whatsapp",
        "message": "Looking for a solitaire around 1 carat",
        "consent": {"email": True, "whatsapp": True, "evidence": "WhatsApp opt-in v2"},
        "timezone": afternoon_zone(),
    }


async def test_with_no_provider_the_timeline_shows_the_welcome_as_outbox_never_sent(
    http, store, api_key
):
    pos, staff = api_key(ApiRole.POS), api_key(ApiRole.ASSOCIATE, store_id=store.id)

    captured = await http.post("/v1/leads", json=capture_body(store.id), headers=bearer(pos))
    assert captured.status_code == 201, captured.text
    lead_id = captured.json()["lead_id"]
    [welcome] = await settled_touches(http, staff, lead_id)

    assert (welcome["step_id"], welcome["status"], welcome["provider"]) == (
        "welcome",
        "outbox",
        "outbox",
    )
    timeline = (await http.get(f"/v1/leads/{lead_id}/timeline", headers=bearer(staff))).json()
    statuses = {e.get("status") for e in timeline["entries"] if e["type"] == "touch"}
    assert "sent" not in statuses
