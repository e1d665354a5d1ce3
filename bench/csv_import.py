"""`make bench` figure csv_import_100k_s: 100,000 sale lines imported from a CSV file.

A store's sales history (two years, 1–3 lines a sale, about 50,000 sales by 30,000 buyers,
each buyer by phone, some also by an external customer id) goes through the same path as
`POST /v1/imports/sales` once its upload has reached disk: `start_import` checks the header,
opens the run, and the background import streams the file a row at a time, in units of 500
sales, each unit through `record_sales` (the buyers through `find_or_create_lead` on leads
read for the whole unit), on a temporary SQLite file. Writing the file is not timed. Sales
this old are history, so they start no journeys: Temporal is told nothing (`effects_told`
checks that), which is what an import of a store's past looks like.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from connectors.csv_import.upload import finished_imports, start_import
from core.vocabulary import ApiRole
from db.migrate import migrate
from db.models import ImportRun, Purchase, Store
from db.session import Database
from domain.access import Actor
from domain.effects import Effects
from domain.reference import Reference

HEADER = (
    "external_sale_id,line_no,sold_at,external_customer_id,phone,first_name,sku,title,metal,"
    "qty,unit_price,currency\n"
)
METALS = ["gold", "gold", "gold", "platinum", "silver"]


def _write_sales(path: Path, lines: int) -> int:
    """A sales file of `lines` rows; returns how many sales it holds."""
    rng = random.Random(18)
    start = datetime(2024, 6, 1, tzinfo=UTC)
    buyers = [f"+9198{rng.randrange(10**7, 10**8)}" for _ in range(30_000)]
    written = sales = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write(HEADER)
        while written < lines:
            sales += 1
            phone = rng.choice(buyers)
            external = f"C{phone[-8:]}" if int(phone[-1]) % 3 == 0 else ""
            sold = (start + timedelta(minutes=rng.randrange(0, 60 * 24 * 700))).isoformat()
            for line in range(1, min(rng.randint(1, 3), lines - written) + 1):
                price = rng.randrange(5_000, 400_000)
                file.write(
                    f"S{sales},{line},{sold},{external},{phone},Buyer,SKU-{rng.randrange(9999)},"
                    f"Piece,{rng.choice(METALS)},1,{price}.00,INR\n"
                )
                written += 1
    return sales


def measure_csv_import(lines: int = 100_000) -> dict[str, Any]:
    """Seconds to import `lines` sale lines (the file already on disk), on temporary SQLite."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrate(url)
        database = Database(url)
        try:
            sales = _write_sales(Path(folder) / "sales.csv", lines)
            store_id = uuid.uuid4()
            database.run(
                lambda s: s.add(
                    Store(id=store_id, name="Bench", timezone="Asia/Kolkata", country="IN",
                          currency="INR")
                )
            )  # fmt: skip
            actor = Actor(None, "bench", ApiRole.ADMIN, None, None)
            told: list[Effects] = []

            async def tell(effects: Effects) -> None:
                if effects.journeys or effects.deliveries or effects.qualify or effects.countdowns:
                    told.append(effects)

            async def run() -> uuid.UUID:
                file = (Path(folder) / "sales.csv").open("rb")
                run_id = await start_import(
                    database, Reference(), actor, file, kind="sales", store_id=store_id,
                    source="bench", full=False, dry_run=False, tell=tell,
                )  # fmt: skip
                await finished_imports()
                return run_id

            started, cpu_before = time.perf_counter(), time.process_time()
            run_id = asyncio.run(run())
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_before  # every thread of this process
            report = database.read(lambda s: s.get_one(ImportRun, run_id))
            recorded = database.read(lambda s: s.scalar(select(func.count()).select_from(Purchase)))
        finally:
            database.dispose()
    assert report.status == "done", report.failure
    assert (report.rows_read, report.created, report.rows_failed) == (lines, lines, 0), (
        report.rows_read, report.created, report.rows_failed,
    )  # fmt: skip
    assert recorded == sales, f"{recorded} purchases for {sales} sales"
    name = "csv_import_100k_s" if lines == 100_000 else f"csv_import_{lines}_s"
    return {
        name: round(elapsed, 2),
        "csv_import_rows_per_s": round(lines / elapsed),
        # CPU the import used (a busy machine stretches the wall time, much less this).
        "csv_import_cpu_s": round(cpu, 1),
        "csv_import_sales": sales,
        "csv_import_effects_told": len(told),
    }


if __name__ == "__main__":
    import sys

    print(measure_csv_import(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
