"""What a busy store does to the stack, for `make bench` (bench/bench.py calls these).

- `read_load(...)`: lead and timeline reads through the HTTP API at a steady rate (open loop:
  a slow answer never delays the next read), as staff and the console read while leads come in.
- `worker_metrics(url)` and `histogram_quantile(...)`: the Temporal SDK's own histograms, read
  from the worker's Prometheus endpoint (WORKER_METRICS_ADDRESS), before and after a burst.
- `workflow_task_timeouts(...)`: WorkflowTaskTimedOut events in the histories of the
  workflows started since a moment: each one is a workflow task done again.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.client import Client

# name{labels} value — one sample of the Prometheus text format.
_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)"
)
_LE = re.compile(r'le="(?P<le>[^"]+)"')

Histogram = dict[float, float]  # upper bound (le) → cumulative count, summed over label sets


def worker_metrics(url: str) -> dict[str, Histogram]:
    """The histograms the worker serves at `url`, by name (labels summed away)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    histograms: dict[str, Histogram] = defaultdict(lambda: defaultdict(float))
    for line in text.splitlines():
        sample = _SAMPLE.match(line)
        if sample is None or not sample["name"].endswith("_bucket"):
            continue
        bound = _LE.search(sample["labels"] or "")
        if bound is None:
            continue
        name = sample["name"].removesuffix("_bucket")
        histograms[name][float(bound["le"])] += float(sample["value"])
    return {name: dict(buckets) for name, buckets in histograms.items()}


def histogram_quantile(q: float, before: Histogram, after: Histogram) -> tuple[float, int]:
    """The q-quantile (0..1) of what was observed between two readings of one cumulative
    histogram, interpolated within its bucket as Prometheus's histogram_quantile does; and
    how many observations that was. A quantile past the last finite bucket is that bound."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return float("nan"), 0
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if math.isinf(bound):
                return lower, int(total)
            share = (rank - below) / (cumulative - below) if cumulative > below else 1.0
            return lower + (bound - lower) * share, int(total)
        lower, below = bound, cumulative
    return lower, int(total)


@dataclass
class Timeouts:
    workflows: int = 0
    start_to_close: int = 0  # the task was taken but not completed in time (done again)
    schedule_to_start: int = 0  # a sticky task nobody took in time (moved to the normal queue)

    @property
    def total(self) -> int:
        return self.start_to_close + self.schedule_to_start


async def workflow_task_timeouts(
    client: Client, started_since: datetime, concurrency: int = 8
) -> Timeouts:
    """Count WorkflowTaskTimedOut events over every workflow started since `started_since`."""
    query = f"StartTime >= '{started_since.isoformat()}'"
    ids = [(w.id, w.run_id) async for w in client.list_workflows(query)]
    found = Timeouts(workflows=len(ids))
    pending = iter(ids)

    async def lane() -> None:
        for workflow_id, run_id in pending:
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            for event in history.events:
                if event.event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                    continue
                timeout = event.workflow_task_timed_out_event_attributes.timeout_type
                if timeout == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START:
                    found.schedule_to_start += 1
                else:
                    found.start_to_close += 1

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return found


@dataclass
class Reads:
    response_times: list[float] = field(default_factory=list)
    failed: int = 0


async def read_load(
    http: aiohttp.ClientSession, lead_ids: Sequence[uuid.UUID], rate: float, seconds: float
) -> Reads:
    """GET /v1/leads/{id} and its timeline, alternately, over `lead_ids` at `rate` a second."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05
    reads = Reads()

    async def read(i: int) -> None:
        await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))
        lead = lead_ids[i % len(lead_ids)]
        path = f"/v1/leads/{lead}" if i % 2 else f"/v1/leads/{lead}/timeline"
        started = time.perf_counter()
        try:
            async with http.get(path) as response:
                await response.read()
                ok = response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            reads.response_times.append(time.perf_counter() - started)
        else:
            reads.failed += 1

    await asyncio.gather(*(read(i) for i in range(int(rate * seconds))))
    return reads
