"""Valigara through Temporal, against the local stand-in (documented semantics; field names
secondary): the catalogue pulled by its workflow and its schedule; a sale recorded at the
till calls `product_sold` once with the store's `sold_action`, even when the activity is
retried after its call; a 105 is retried by Temporal after the wait Valigara gave; a 102
stops with a clear error."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError

from core.vocabulary import ApiRole
from core.workflow_ids import valigara_sold_workflow_id
from db.models import OutboundCall, Product
from tests.conftest import api_client
from tests.conftest import test_settings as settings_for
from tests.test_worker import _start_worker
from tests.valigara_standin import ValigaraStandIn
from tests.workflows.replay import keep_history
from worker import valigara_branch
from workflows.schedules import VALIGARA_CATALOGUE, ensure_valigara_catalogue
from workflows.valigara import (
    CataloguePullInput,
    SoldPieceLine,
    ValigaraCataloguePull,
    ValigaraSold,
    ValigaraSoldInput,
    ValigaraSoldResult,
)

RING = {
    "product_id": 101, "sku": "VR-101", "title": "Oval solitaire", "product_type": "Ring",
    "price": 185000, "quantity": 2, "metals": [{"name": "Platinum", "purity": "PT950"}],
}  # fmt: skip
STUDS = {
    "product_id": 102, "sku": "VE-102", "title": "Diamond studs", "product_type": "Earrings",
    "price": 45000, "quantity": 5, "metals": [{"name": "Gold", "purity": "18K"}],
}  # fmt: skip


def _serve(**options: Any) -> ValigaraStandIn:
    server = ValigaraStandIn(**options).start()
    for product in (RING, STUDS):
        server.add(dict(product))
    return server


@pytest.fixture
def valigara() -> Iterator[ValigaraStandIn]:
    server = _serve()
    yield server
    server.release.set()
    server.stop()


def _account(server: ValigaraStandIn, **more: Any) -> dict[str, Any]:
    """The worker's settings for the stand-in's account."""
    return {"valigara_access_key": server.key, "valigara_base_url": server.url, **more}


def _catalogue(database, store) -> dict[str, tuple]:
    return database.read(
        lambda s: {
            p.sku: (p.external_product_id, p.stock, p.active)
            for p in s.scalars(select(Product).where(Product.store_id == store.id))
        }
    )


def _calls(database, purchase_id: uuid.UUID) -> list[str]:
    return database.read(
        lambda s: list(
            s.scalars(
                select(OutboundCall.status).where(OutboundCall.key.contains(str(purchase_id)))
            )
        )
    )


async def _reset_to_start(client, workflow_id: str) -> ValigaraSoldResult:
    """Reset the workflow to its first workflow task (before any activity) and await the
    new run."""
    handle = client.get_workflow_handle_for(ValigaraSold.run, workflow_id)
    tasks = [
        event.event_id
        async for event in handle.fetch_history_events()
        if event.HasField("workflow_task_completed_event_attributes")
    ]
    described = await handle.describe()
    reset = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=described.run_id),
            reason="test: run the activity again",
            workflow_task_finish_event_id=tasks[0],
            request_id=str(uuid.uuid4()),
        )
    )
    rerun = client.get_workflow_handle_for(ValigaraSold.run, workflow_id, run_id=reset.run_id)
    return await rerun.result()


async def _until(condition, what: str, seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _sold(store_id: uuid.UUID, purchase_id: uuid.UUID | None = None) -> ValigaraSoldInput:
    line = SoldPieceLine(line_no=1, product_id="101", quantity=1)
    return ValigaraSoldInput(
        store_id=store_id, purchase_id=purchase_id or uuid.uuid4(), lines=[line]
    )


async def test_a_till_sale_of_a_valigara_piece_calls_product_sold_once_with_the_stores_action(
    dev_server, worker_for, database, store, api_key, valigara
):
    client = dev_server.client
    async with worker_for(client, **_account(valigara, valigara_sold_action="remove")) as queue:
        pulled = await client.execute_workflow(
            ValigaraCataloguePull.run,
            CataloguePullInput(store_id=store.id),
            id=f"valigara-pull-test-{uuid.uuid4()}",
            task_queue=queue,
        )
        assert (pulled.listed, pulled.created) == (2, 2)
        assert _catalogue(database, store) == {
            "VR-101": ("101", 2, True),
            "VE-102": ("102", 5, True),
        }

        sale = {
            "store_id": str(store.id),
            "pos_transaction_id": f"T-{uuid.uuid4().hex[:10]}",
            "customer": {"pos_customer_id": f"C-{uuid.uuid4().hex[:8]}", "first_name": "Meena"},
            "amount_minor": 185_000_00,
            "items": [{"name": "Oval solitaire", "sku": "VR-101"}, {"name": "Gift box"}],
        }
        till = {"Authorization": f"Bearer {api_key(ApiRole.POS)}"}
        async with api_client(database, client, queue) as http:
            first = await http.post("/v1/pos/purchases", json=sale, headers=till)
            assert first.status_code == 201, first.text
            purchase_id = uuid.UUID(first.json()["purchase_id"])
            sold = client.get_workflow_handle_for(
                ValigaraSold.run, valigara_sold_workflow_id(purchase_id)
            )
            told = await sold.result()
            await keep_history(sold, "valigara_sold_told")
            again = await http.post("/v1/pos/purchases", json=sale, headers=till)  # a resend
            assert again.status_code == 200 and again.json()["duplicate"] is True
        # An operator resets the workflow to before the call: the activity runs again.
        rerun = await _reset_to_start(client, valigara_sold_workflow_id(purchase_id))
        assert [line.outcome for line in rerun.lines] == ["already_told"]

    assert [(line.sale_line_key, line.outcome) for line in told.lines] == [
        (f"{purchase_id}:1", "told")
    ]
    [call] = valigara.answered("product_sold")
    assert call.data is not None
    assert call.data == '{"product_id": "101", "quantity": 1, "sold_action": "remove"}'
    assert valigara.products[101]["quantity"] == 1 and valigara.products[101]["listed"] is False
    assert _calls(database, purchase_id) == ["done"]


async def test_an_attempt_whose_answer_was_lost_is_retried_without_calling_again(
    time_skipping, worker_for, database, store, valigara
):
    """Valigara takes the call (the stock goes down) but its answer never comes back: the
    worker's read times out, as when an answer is lost or the worker is killed waiting for
    it, and Temporal retries the activity. The retry finds the call made and does not make
    it again: a second `product_sold` would take a second piece off Valigara's stock."""
    client = time_skipping.client
    valigara.hold_next("product_sold")
    purchase_id = uuid.uuid4()
    account = _account(valigara, valigara_sold_action="revise", provider_timeout_seconds=0.5)
    async with worker_for(client, **account) as queue:
        handle = await client.start_workflow(
            ValigaraSold.run,
            _sold(store.id, purchase_id),
            id=valigara_sold_workflow_id(purchase_id),
            task_queue=queue,
        )
        result = await handle.result()
        attempts = [
            event.activity_task_started_event_attributes.attempt
            async for event in handle.fetch_history_events()
            if event.HasField("activity_task_started_event_attributes")
        ]

    assert valigara.held.is_set()
    assert attempts == [2]  # the history keeps the last attempt: a retry ran
    assert [line.outcome for line in result.lines] == ["outcome_unknown"]
    assert len(valigara.answered("product_sold")) == 1
    assert valigara.products[101]["quantity"] == 1 and valigara.products[101]["listed"] is True
    assert _calls(database, purchase_id) == ["unknown"]


async def test_a_worker_killed_after_its_call_leaves_the_retry_nothing_to_call(
    dev_server, database, store, valigara, tmp_path
):
    """worker.py as a real process, SIGKILLed once Valigara has taken the call and before it
    answered. Temporal retries the activity on a new worker after its timeout; the retry
    finds the call made and does not make it again."""
    client = dev_server.client
    address = client.service_client.config.target_host
    queue = f"facet-valigara-kill-{uuid.uuid4().hex[:8]}"
    env = {"CREATE_SCHEDULES": "false", "VALIGARA_ACCESS_KEY": valigara.key,
           "VALIGARA_BASE_URL": valigara.url}  # fmt: skip
    log = tmp_path / "worker.log"
    purchase_id = uuid.uuid4()
    valigara.hold_next("product_sold")
    worker = _start_worker(database.url, address, queue, log, env)
    try:
        handle = await client.start_workflow(
            ValigaraSold.run,
            _sold(store.id, purchase_id),
            id=valigara_sold_workflow_id(purchase_id),
            task_queue=queue,
        )
        await _until(valigara.held.is_set, "Valigara to take the call", 60)
        os.kill(worker.pid, signal.SIGKILL)  # no goodbye: as if the machine died
        worker.wait()
        valigara.release.set()  # Valigara answers now, to nobody
        worker = _start_worker(database.url, address, queue, log, env)
        result = await asyncio.wait_for(handle.result(), timeout=90)
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    assert [line.outcome for line in result.lines] == ["outcome_unknown"]
    assert len(valigara.answered("product_sold")) == 1
    assert valigara.products[101]["quantity"] == 1
    assert _calls(database, purchase_id) == ["unknown"]


async def test_a_105_is_retried_by_temporal_after_the_wait_valigara_gave(
    dev_server, worker_for, store
):
    # One unit drains in 2.5 s: ample for the first call to find the bucket still full.
    server = _serve(limited={"product_sold"}, capacity=1, drain_per_s=0.4)
    client = dev_server.client
    purchase_id = uuid.uuid4()
    try:
        # The activity waits out no 105 itself: it hands the wait to Temporal.
        async with worker_for(client, **_account(server)) as queue:
            server.bucket.fill()  # the first call meets a 105 and a wait of up to 2.5 s
            handle = await client.start_workflow(
                ValigaraSold.run,
                _sold(store.id, purchase_id),
                id=valigara_sold_workflow_id(purchase_id),
                task_queue=queue,
            )
            result = await handle.result()
            await keep_history(handle, "valigara_sold_after_a_105")
            failures = [
                event.activity_task_started_event_attributes.last_failure.message
                async for event in handle.fetch_history_events()
                if event.HasField("activity_task_started_event_attributes")
            ]
    finally:
        server.stop()

    assert [line.outcome for line in result.lines] == ["told"]
    assert [c.status for c in server.calls] == [105, 100]
    refused, retried = server.calls
    assert refused.wait is not None and retried.at - refused.at >= refused.wait
    assert "105 Rate limit exceeded" in failures[-1]  # the attempt Temporal retried


async def test_a_102_stops_the_catalogue_pull_with_a_clear_error(
    time_skipping, worker_for, database, store, valigara
):
    client = time_skipping.client
    account = _account(valigara, valigara_access_key="a-revoked-key")
    async with worker_for(client, **account) as queue:
        with pytest.raises(WorkflowFailureError) as failed:
            await client.execute_workflow(
                ValigaraCataloguePull.run,
                CataloguePullInput(store_id=store.id),
                id=f"valigara-pull-test-{uuid.uuid4()}",
                task_queue=queue,
            )

    activity = failed.value.cause
    assert isinstance(activity, ActivityError)
    refusal = activity.cause
    assert isinstance(refusal, ApplicationError)
    assert refusal.type == "StoreSystemRefused" and refusal.non_retryable
    assert "102 Authentication Failed" in refusal.message
    assert "My Account → API" in refusal.message
    assert len(valigara.calls) == 1  # not retried
    assert _catalogue(database, store) == {}


async def test_the_schedule_pulls_the_catalogue_only_while_valigara_is_configured(
    dev_server, worker_for, database, store, valigara
):
    client = dev_server.client
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    async with worker_for(client, **_account(valigara)) as queue:
        settings = settings_for(
            database.url, queue, **_account(valigara, valigara_store_id=store.id)
        )
        branch = valigara_branch(settings, database)
        assert branch == store.id
        schedule_id = await ensure_valigara_catalogue(
            client, queue, branch, timedelta(hours=6), prefix
        )
        assert schedule_id == f"{prefix}-{VALIGARA_CATALOGUE}"
        schedule = client.get_schedule_handle(schedule_id)
        try:
            described = await schedule.describe()
            assert described.schedule.action.workflow == ValigaraCataloguePull.__name__
            [interval] = described.schedule.spec.intervals
            assert interval.every == timedelta(hours=6)
            await schedule.trigger()
            await _until(lambda: len(_catalogue(database, store)) == 2, "the scheduled pull")
        except BaseException:
            await schedule.delete()
            raise

        unset = settings_for(database.url, queue)
        assert valigara_branch(unset, database) is None
        assert (
            await ensure_valigara_catalogue(client, queue, None, timedelta(hours=6), prefix) is None
        )
    ids = [s.id async for s in await client.list_schedules() if s.id.startswith(prefix)]
    assert ids in ([], [schedule_id])  # visibility may lag
    with pytest.raises(RPCError, match="not found"):
        await schedule.describe()
