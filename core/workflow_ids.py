"""Workflow ids are business keys: a retried request can never start a second workflow.

The domain writes them on enrollment rows, the workflows start children under them, and the
doors signal them; all three build them here, so the spelling is written once.
"""

from __future__ import annotations

import uuid


def journey_workflow_id(lead_id: uuid.UUID, sequence_key: str, run: int = 1) -> str:
    """The lead's `run`-th time through a sequence, however often a request retries. The
    first run keeps the spelling it always had (stored histories and ids go on working)."""
    base = f"journey:{lead_id}:{sequence_key}"
    return base if run == 1 else f"{base}:{run}"


def occasion_workflow_id(lead_id: uuid.UUID, occasion: str) -> str:
    """One countdown per lead per occasion (anniversary, birthday, …)."""
    return f"occasion:{lead_id}:{occasion}"


def task_workflow_id(task_id: uuid.UUID) -> str:
    """The EscalationTask that carries one task until a person completes it."""
    return f"task:{task_id}"


def qualify_workflow_id(event_id: uuid.UUID) -> str:
    """Qualification after one event: a repeated event qualifies nothing twice."""
    return f"qualify:{event_id}"


def channel_check_workflow_id(check_id: uuid.UUID) -> str:
    """One test send from store setup: sent once, however often the page is posted."""
    return f"channel-check:{check_id}"


def campaign_workflow_id(campaign_id: uuid.UUID) -> str:
    """The CampaignWorkflow that enrolls one campaign's audience: started once."""
    return f"campaign:{campaign_id}"


def campaign_journey_workflow_id(
    lead_id: uuid.UUID, sequence_key: str, campaign_id: uuid.UUID
) -> str:
    """A lead's journey in a campaign's sequence: one per lead per campaign, so the same
    festival's campaign next year is a journey of its own."""
    return f"{journey_workflow_id(lead_id, sequence_key)}:campaign:{campaign_id}"


def valigara_sold_workflow_id(purchase_id: uuid.UUID) -> str:
    """Telling Valigara of one sale's pieces: once per sale, however often it is recorded."""
    return f"valigara-sold:{purchase_id}"
