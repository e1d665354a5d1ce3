"""The lead's page lists picks from stock: what a message would show, never a sold-out piece."""

from __future__ import annotations

import re
import uuid

from tests.activities.test_messaging import lead_in_kolkata
from tests.domain.test_catalogue import _case, _prefer, _stock
from tests.web.people import make_account, signed_in


async def test_the_leads_page_lists_the_picks_and_never_a_sold_out_piece(console, database, store):
    tag = uuid.uuid4().hex[:6]
    _stock(database, store, *_case(tag))
    lead_id = lead_in_kolkata(database, store)
    _prefer(database, lead_id, segment="engagement", budget_minor=200_000_00, metals=["platinum"])
    async with console() as http:
        await signed_in(http, make_account(database, store, "associate"))
        page = (await http.get(f"/console/leads/{lead_id}")).text
    assert "Picks from stock" in page
    shown = re.findall(r'data-sku="([^"]+)"', page)
    assert shown == [f"{tag}-HALO", f"{tag}-PEND", f"{tag}-BAND"]
    assert "INR 140,000" in page
