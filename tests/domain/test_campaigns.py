"""A campaign's audience, as marketing would expect each filter to narrow it, on a real
database; and a campaign whose festival date is unknown for its year refuses to start."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from core.vocabulary import ApiRole
from db.models import Lead, Purchase
from domain import campaigns
from domain.access import Actor
from domain.campaigns import Audience
from domain.errors import InvalidField
from sequences.calendar import festival_in_year
from sequences.vocabulary import Channel, Festival, Priority
from tests.factories import make_lead

MARKETING = Actor(
    key_id=None, name="marketing", role=ApiRole.MARKETING, store_id=None, staff_id=None
)


@pytest.fixture
def people(database, store, make_store):
    """Four leads of one store, and one of another store, told apart by what filters see."""

    def lead(name, consent, segment=None, tier=None, bought=None, where=store):
        lead_id = make_lead(database, where, consent=consent)

        def shape(session):
            row = session.get_one(Lead, lead_id)
            row.segment, row.priority = segment, tier
            if bought:
                session.add(
                    Purchase(
                        store_id=row.store_id,
                        lead_id=lead_id,
                        pos_transaction_id=f"t-{uuid.uuid4().hex[:8]}",
                        amount_minor=5_000_000,
                        currency="INR",
                        purchased_at=datetime.combine(bought, datetime.min.time(), UTC),
                    )
                )

        database.run(shape)
        return name, lead_id

    return dict(
        [
            lead("gift_hot_old_buyer", [Channel.EMAIL], "gifting", "hot", date(2025, 1, 10)),
            lead("bridal_warm_new_buyer", [Channel.EMAIL], "bridal", "warm", date(2026, 6, 1)),
            lead("gift_cold_whatsapp", [Channel.WHATSAPP], "gifting", "cold"),
            lead("gift_no_consent", [], "gifting", "hot", date(2025, 3, 1)),
            lead("other_branch", [Channel.EMAIL], "gifting", "hot", where=make_store()),
        ]
    )


EVERYONE_HERE = {"gift_hot_old_buyer", "bridal_warm_new_buyer", "gift_cold_whatsapp"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, EVERYONE_HERE),
        ({"segment": "gifting"}, {"gift_hot_old_buyer", "gift_cold_whatsapp"}),
        ({"score_tier": Priority.HOT}, {"gift_hot_old_buyer"}),
        ({"last_purchase_before": date(2026, 1, 1)}, {"gift_hot_old_buyer"}),
        ({"last_purchase_after": date(2026, 1, 1)}, {"bridal_warm_new_buyer"}),
        ({"channels": (Channel.EMAIL,)}, {"gift_hot_old_buyer", "bridal_warm_new_buyer"}),
        ({"channels": (Channel.SMS,)}, set()),
        ({"segment": "gifting", "channels": (Channel.EMAIL,)}, {"gift_hot_old_buyer"}),
    ],
    ids=["branch", "segment", "tier", "bought_before", "bought_after", "consent", "none", "both"],
)
def test_each_audience_filter_narrows_the_preview(database, store, people, filters, expected):
    filters = dict(filters)  # the table's dict is shared by the SQLite and PostgreSQL runs
    channels = filters.pop("channels", (Channel.EMAIL, Channel.WHATSAPP))
    audience = Audience(channels=channels, store_id=store.id, **filters)

    def previewed(session):
        campaign = campaigns.create(
            session, MARKETING, name="Test", sequence_key="gifting_valentines", audience=audience
        )
        found = campaigns.preview(session, campaign.id, MARKETING)
        ids = set(session.scalars(campaigns.audience_query(audience, "gifting_valentines")))
        return found.count, ids

    count, ids = database.run(previewed)
    names = {name for name, lead_id in people.items() if lead_id in ids}
    assert names == expected
    assert count == len(expected)


def test_the_preview_shows_the_first_message_rendered_for_an_audience_lead(database, store, people):
    audience = Audience(channels=(Channel.EMAIL,), store_id=store.id, segment="gifting")

    def previewed(session):
        campaign = campaigns.create(
            session, MARKETING, name="Diwali", sequence_key="festive_diwali", audience=audience
        )
        return campaigns.preview(session, campaign.id, MARKETING)

    found = database.run(previewed)
    assert found.sample_lead_id == people["gift_hot_old_buyer"]
    assert found.sample is not None
    assert (found.sample.step_id, found.sample.channel) == ("gift_guide", Channel.EMAIL)
    assert found.sample.message.subject and "Asha" in found.sample.message.body
    # ... and when each step would reach that lead: the gift guide three weeks before Diwali.
    sends = {step.step_id: step for step in found.plan if step.action == "send"}
    diwali = festival_in_year(Festival.DIWALI, sends["gift_guide"].at.year)
    assert diwali is not None
    assert sends["gift_guide"].at.date() == diwali - timedelta(days=21)
    assert found.timezone == str(sends["gift_guide"].at.tzinfo)


def test_a_campaign_for_a_year_without_a_festival_date_refuses_to_start_naming_it(database, store):
    audience = Audience(channels=(Channel.EMAIL,), store_id=store.id)

    def start_in_2036(session):
        campaign = campaigns.create(
            session, MARKETING, name="Diwali", sequence_key="festive_diwali", audience=audience
        )
        campaigns.start(session, campaign.id, MARKETING, datetime(2036, 3, 1, tzinfo=UTC))

    with pytest.raises(InvalidField, match=r"(dhanteras|diwali) in 2036 is not known") as refused:
        database.run(start_in_2036)
    assert refused.value.field == "steps"


def test_a_countdown_cannot_be_a_campaign_sequence(database, store):
    audience = Audience(channels=(Channel.EMAIL,), store_id=store.id)
    with pytest.raises(InvalidField) as refused:
        database.run(
            lambda s: campaigns.create(
                s, MARKETING, name="x", sequence_key="anniversary_countdown", audience=audience
            )
        )
    assert refused.value.field == "sequence_key"
