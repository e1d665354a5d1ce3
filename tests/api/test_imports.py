"""CSV imports over HTTP: a dry run, a real run, a re-run; sales with a real sale's effects."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from api.app import create_app
from core.vocabulary import ApiRole
from db.models import Enrollment, Event, ImportRun, Lead, LeadExternalId, Product, Purchase
from tests.conftest import bearer
from tests.conftest import test_settings as settings_for
from tests.factories import indian_mobile

SALES_HEADER = (
    "external_sale_id,line_no,sold_at,external_customer_id,phone,email,first_name,"
    "sku,title,metal,qty,unit_price,currency\n"
)


async def finished(http: httpx.AsyncClient, key: str, accepted: httpx.Response) -> dict[str, Any]:
    """The import's report once it has stopped running (polled as a client would)."""
    assert accepted.status_code == 202, accepted.text
    url = accepted.json()["report_url"]
    for _ in range(400):
        report = (await http.get(url, headers=bearer(key))).json()
        if report["status"] != "running":
            return report
        await asyncio.sleep(0.05)
    raise AssertionError(f"the import was still running: {report}")


def _count(database, model, *conditions) -> int:
    return database.read(
        lambda s: s.scalar(select(func.count()).select_from(model).where(*conditions))
    )


def _history_sales(tag: str) -> str:
    """Two good sales (one of two lines), and three bad rows: a bad price, a bad date, no buyer."""
    a, b = indian_mobile(), indian_mobile()
    return SALES_HEADER + "".join(
        [
            f"{tag}-1,1,2025-03-01T11:00:00+05:30,C{tag}1,{a},,Asha,R-1,Solitaire,platinum,1,185000.00,INR\n",
            f"{tag}-1,2,2025-03-01T11:00:00+05:30,C{tag}1,{a},,Asha,B-2,Band,gold,2,22000.50,INR\n",
            f"{tag}-2,1,2025-04-10T16:30:00Z,,{b},,Ravi,E-9,Studs,gold,1,45000,INR\n",
            f"{tag}-3,1,2025-04-11T10:00:00Z,,{indian_mobile()},,Meena,E-1,Hoops,gold,1,twelve,INR\n",
            f"{tag}-4,1,11/04/2025,,{indian_mobile()},,Kiran,E-2,Drops,gold,1,900,INR\n",
            f"{tag}-5,1,2025-04-12T10:00:00Z,,,,Nobody,E-3,Pendant,gold,1,900,INR\n",
        ]
    )  # fmt: skip


async def test_a_dry_run_reports_each_bad_row_and_a_real_run_imports_the_good_rows_once(
    http, store, api_key, database
):
    key = api_key(ApiRole.POS, store_id=store.id)
    body = _history_sales(uuid.uuid4().hex[:6]).encode()
    csv = {"Content-Type": "text/csv"} | bearer(key)
    leads_before = _count(database, Lead, Lead.store_id == store.id)

    dry = await finished(
        http, key, await http.post("/v1/imports/sales?dry_run=true", content=body, headers=csv)
    )
    assert (dry["status"], dry["dry_run"], dry["rows_read"], dry["rows_failed"]) == (
        "done", True, 6, 3,
    )  # fmt: skip
    assert [(e["row"], e["column"]) for e in dry["errors"]] == [
        (5, "unit_price"),
        (6, "sold_at"),
        (7, "phone"),
    ]
    assert "decimal amount" in dry["errors"][0]["expected"]
    assert "ISO-8601" in dry["errors"][1]["expected"]
    assert "external_customer_id" in dry["errors"][2]["expected"]
    assert _count(database, Purchase, Purchase.store_id == store.id) == 0
    assert _count(database, Lead, Lead.store_id == store.id) == leads_before

    real = await finished(
        http, key, await http.post("/v1/imports/sales", content=body, headers=csv)
    )
    assert (real["status"], real["created"], real["rows_failed"]) == ("done", 3, 3)
    purchases = database.read(
        lambda s: s.scalars(
            select(Purchase).where(Purchase.store_id == store.id).order_by(Purchase.amount_minor)
        ).all()
    )
    # 1 × ₹45,000 and 1 × ₹1,85,000 + 2 × ₹22,000.50, in paise
    assert [p.amount_minor for p in purchases] == [45_000_00, 229_001_00]
    assert [item["line_no"] for item in purchases[1].items] == [1, 2]
    assert _count(database, Lead, Lead.store_id == store.id) == leads_before + 2

    again = await finished(
        http, key, await http.post("/v1/imports/sales", content=body, headers=csv)
    )
    assert (again["created"], again["unchanged"], again["rows_failed"]) == (0, 3, 3)
    assert _count(database, Purchase, Purchase.store_id == store.id) == 2
    assert _count(database, Lead, Lead.store_id == store.id) == leads_before + 2
    assert _count(database, Event, Event.store_id == store.id, Event.kind == "purchase") == 2
    # Sales from 2025 are history: no post-purchase journey was planned for their buyers.
    buyers = database.read(
        lambda s: list(s.scalars(select(Purchase.lead_id).where(Purchase.store_id == store.id)))
    )
    assert _count(database, Enrollment, Enrollment.lead_id.in_(buyers)) == 0


async def test_a_csv_sale_for_a_lead_in_an_engagement_journey_converts_it_and_starts_post_purchase(
    http, store, api_key, database, dev_server
):
    key = api_key(ApiRole.POS, store_id=store.id)
    phone = indian_mobile()
    lead = (
        await http.post(
            "/v1/leads",
            json={"store_id": str(store.id), "source": "walk_in", "phone": phone,
                  "segment": "engagement"},
            headers=bearer(key),
        )
    ).json()  # fmt: skip
    now = datetime.now(UTC).isoformat()
    body = (
        SALES_HEADER
        + f"S-{uuid.uuid4().hex[:6]},1,{now},,{phone[3:]},,,R-7,Halo ring,platinum,1,210000,INR\n"
    )
    report = await finished(
        http,
        key,
        await http.post(
            "/v1/imports/sales",
            content=body.encode(),
            headers={"Content-Type": "text/csv"} | bearer(key),
        ),
    )
    assert (report["status"], report["created"]) == ("done", 1), report
    result = await dev_server.client.get_workflow_handle(lead["journey_workflow_id"]).result()
    assert (result["status"], result["revenue_minor"]) == ("converted", 210_000_00)
    post_purchase = dev_server.client.get_workflow_handle(
        f"journey:{lead['lead_id']}:post_purchase"
    )
    assert (await post_purchase.describe()).status is not None
    purchase = database.read(
        lambda s: s.scalars(
            select(Purchase).where(Purchase.lead_id == uuid.UUID(lead["lead_id"]))
        ).one()
    )
    assert purchase.converted_journeys == [lead["journey_workflow_id"]]


def _products(*rows: str) -> bytes:
    header = "sku,title,category,metal,purity,weight_g,stones,price,currency,stock,image_url\n"
    return (header + "".join(rows)).encode()


async def test_a_full_product_import_marks_pieces_absent_from_the_file_inactive(
    http, store, api_key, database
):
    key = api_key(ApiRole.POS, store_id=store.id)
    csv = {"Content-Type": "text/csv"} | bearer(key)
    ring = "R-1,Solitaire,ring,platinum,PT950,4.2,diamond:1.0,185000,INR,2,https://img.example/r1.jpg\n"
    band = "B-1,Plain band,band,gold,18K,3.1,,22000,INR,5,\n"
    studs = "E-1,Studs,earrings,gold,22K,2.0,diamond:0.5;ruby:0.25,45000,INR,0,\n"
    first = await finished(
        http,
        key,
        await http.post("/v1/imports/products", content=_products(ring, band, studs), headers=csv),
    )
    assert (first["created"], first["rows_failed"]) == (3, 0), first
    delta = await finished(
        http, key, await http.post("/v1/imports/products", content=_products(ring), headers=csv)
    )
    assert (delta["unchanged"], delta["deactivated"]) == (1, 0)
    full = await finished(
        http,
        key,
        await http.post(
            "/v1/imports/products?mode=full",
            content=_products(ring, band.replace(",5,", ",4,")),
            headers=csv,
        ),
    )
    assert (full["unchanged"], full["updated"], full["deactivated"]) == (1, 1, 1), full
    assert "inactive" in full["full_mode_means"]
    products = database.read(
        lambda s: {
            p.sku: (p.active, p.stock, p.price_minor, p.stones)
            for p in s.scalars(select(Product).where(Product.store_id == store.id))
        }
    )
    assert products == {
        "R-1": (True, 2, 185_000_00, [{"type": "diamond", "carat": 1.0}]),
        "B-1": (True, 4, 22_000_00, []),
        "E-1": (
            False,
            0,
            45_000_00,
            [{"type": "diamond", "carat": 0.5}, {"type": "ruby", "carat": 0.25}],
        ),
    }


async def test_customers_import_once_by_phone_email_or_external_id(http, store, api_key, database):
    key = api_key(ApiRole.POS, store_id=store.id)
    csv = {"Content-Type": "text/csv"} | bearer(key)
    phone = indian_mobile()
    body = (
        "\ufeffexternal_customer_id,phone,email,first_name,segment,anniversary,metals\n"
        f"C-{phone[-6:]},{phone},,Asha,engagement,2016-06-14,platinum;gold\n"
        f",,meena.{phone[-6:]}@example.com,Meena,,,\n"
        ",,not-an-email,Bad,,,\n"
        ",,,Nobody,sideways,,\n"
    ).encode()
    first = await finished(
        http, key, await http.post("/v1/imports/customers", content=body, headers=csv)
    )
    assert (first["created"], first["rows_failed"]) == (2, 2), first
    assert [(e["row"], e["column"]) for e in first["errors"]] == [
        (4, "email"), (5, "phone"), (5, "segment"),
    ]  # fmt: skip
    again = await finished(
        http, key, await http.post("/v1/imports/customers", content=body, headers=csv)
    )
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2), again
    asha = database.read(
        lambda s: s.scalars(
            select(Lead).where(Lead.store_id == store.id, Lead.phone_e164 == phone)
        ).one()
    )
    assert (asha.segment, asha.metals, asha.occasion_dates) == (
        "engagement", ["platinum", "gold"], {"anniversary": "2016-06-14"},
    )  # fmt: skip
    # The file's customer id is Asha's id in the system that wrote it (source "csv").
    assert _external_ids(database, asha.id) == [("csv", f"C-{phone[-6:]}")]


def _external_ids(database, lead_id: uuid.UUID) -> list[tuple[str, str]]:
    return database.read(
        lambda s: [
            (row.source, row.external_id)
            for row in s.scalars(
                select(LeadExternalId)
                .where(LeadExternalId.lead_id == lead_id)
                .order_by(LeadExternalId.source)
            )
        ]
    )


async def test_a_csv_customer_is_found_by_its_id_in_that_system_before_phone_and_email(
    http, store, api_key, database
):
    key = api_key(ApiRole.POS, store_id=store.id)
    csv = {"Content-Type": "text/csv"} | bearer(key)
    tag = uuid.uuid4().hex[:6]
    phone, other_phone, third_phone = indian_mobile(), indian_mobile(), indian_mobile()
    customers = f"external_customer_id,phone,first_name\nC-{tag},{phone},Asha\n".encode()
    imported = await finished(
        http,
        key,
        await http.post("/v1/imports/customers?source=jewelmate", content=customers, headers=csv),
    )
    assert imported["created"] == 1, imported
    asha = database.read(lambda s: s.scalars(select(Lead.id).where(Lead.phone_e164 == phone)).one())

    async def sale_from(source: str, sale: str, phone: str) -> dict[str, Any]:
        row = f"{sale},1,2025-05-01T11:00:00+05:30,C-{tag},{phone},,,R-1,Ring,gold,1,5000,INR\n"
        body = (SALES_HEADER + row).encode()
        url = f"/v1/imports/sales?source={source}"
        return await finished(http, key, await http.post(url, content=body, headers=csv))

    # The same customer id from the same system, with a number the store has not seen: Asha.
    same = await sale_from("jewelmate", f"{tag}-1", other_phone)
    # The same id written by another system names someone else there: not Asha.
    other = await sale_from("polygon", f"{tag}-2", third_phone)
    assert (same["created"], other["created"]) == (1, 1), (same, other)
    buyers = database.read(
        lambda s: dict(
            s.execute(
                select(Purchase.pos_transaction_id, Purchase.lead_id).where(
                    Purchase.store_id == store.id
                )
            ).all()
        )
    )
    assert buyers[f"jewelmate:{tag}-1"] == asha
    assert buyers[f"polygon:{tag}-2"] != asha
    assert _external_ids(database, asha) == [("jewelmate", f"C-{tag}")]
    assert _external_ids(database, buyers[f"polygon:{tag}-2"]) == [("polygon", f"C-{tag}")]


async def test_a_file_that_is_not_utf8_is_refused_naming_the_line(http, store, api_key, database):
    key = api_key(ApiRole.POS, store_id=store.id)
    csv = {"Content-Type": "text/csv"} | bearer(key)
    runs = _count(database, ImportRun, ImportRun.store_id == store.id)
    latin1 = "sku,title\nR-1,Bague en or\nR-2,Boucle d'oreille dorée\n".encode("latin-1")
    refused = await http.post("/v1/imports/products", content=b"sku,titl\xe9\n", headers=csv)
    assert refused.status_code == 422
    assert "line 1" in refused.text and "UTF-8" in refused.text
    missing = await http.post("/v1/imports/products", content=b"sku,name\nR-1,Ring\n", headers=csv)
    assert missing.status_code == 422 and "title" in missing.text
    assert _count(database, ImportRun, ImportRun.store_id == store.id) == runs

    stopped = await finished(
        http, key, await http.post("/v1/imports/products", content=latin1, headers=csv)
    )
    assert stopped["status"] == "failed"
    assert "line 3" in stopped["failure"] and "UTF-8" in stopped["failure"]
    assert _count(database, Product, Product.store_id == store.id) == 1  # the row before it


async def test_a_multipart_upload_imports_like_a_raw_body(http, store, api_key, database):
    key = api_key(ApiRole.POS, store_id=store.id)
    files = {
        "file": ("catalogue.csv", _products("M-1,Mangalsutra,necklace,gold,22K,12,,95000,INR,1,\n"))
    }
    report = await finished(
        http, key, await http.post("/v1/imports/products", files=files, headers=bearer(key))
    )
    assert report["created"] == 1


async def test_an_import_its_process_left_running_is_interrupted_on_start_and_the_file_finishes_it(
    http, store, api_key, database, dev_server, worker_for
):
    key = api_key(ApiRole.POS, store_id=store.id)
    csv = {"Content-Type": "text/csv"} | bearer(key)
    tag = uuid.uuid4().hex[:6]
    lines = [
        f"{tag}-{n},1,2025-03-0{n}T11:00:00+05:30,,{indian_mobile()},,,R-{n},Ring,gold,1,900,INR\n"
        for n in range(1, 7)
    ]
    # What a process killed half-way leaves: the first sales written, its row still `running`,
    # its last unit written long ago.
    half = await finished(
        http,
        key,
        await http.post(
            "/v1/imports/sales?source=jewelmate",
            content=(SALES_HEADER + "".join(lines[:3])).encode(),
            headers=csv,
        ),
    )
    assert half["created"] == 3

    def killed(session) -> uuid.UUID:
        run = session.get_one(ImportRun, uuid.UUID(half["import_id"]))
        run.status, run.finished_at = "running", None
        run.progress_at = datetime.now(UTC) - timedelta(minutes=20)
        alive = ImportRun(**{
            column.key: getattr(run, column.key) for column in ImportRun.__table__.columns
        } | {"id": uuid.uuid4(), "progress_at": datetime.now(UTC)})  # fmt: skip
        session.add(alive)
        return alive.id

    alive_id = database.run(killed)

    async with worker_for(dev_server.client) as task_queue:
        app = create_app(
            settings_for(database.url, task_queue), database=database, temporal=dev_server.client
        )
        async with app.router.lifespan_context(app):
            recorded = database.read(lambda s: s.get_one(ImportRun, uuid.UUID(half["import_id"])))
            alive = database.read(lambda s: s.get_one(ImportRun, alive_id))
    assert (recorded.status, recorded.rows_read, recorded.created) == ("interrupted", 3, 3)
    assert alive.status == "running", "a run whose process writes still is not touched"

    report = (await http.get(f"/v1/imports/{half['import_id']}", headers=bearer(key))).json()
    assert report["status"] == "interrupted" and "same file again" in report["failure"]
    assert report["resume_url"].startswith("/v1/imports/sales?")
    assert "source=jewelmate" in report["resume_url"]
    rest = await finished(
        http,
        key,
        await http.post(
            report["resume_url"], content=(SALES_HEADER + "".join(lines)).encode(), headers=csv
        ),
    )
    assert (rest["status"], rest["created"], rest["unchanged"]) == ("done", 3, 3), rest
    assert _count(database, Purchase, Purchase.store_id == store.id) == 6
    assert _count(database, Event, Event.store_id == store.id, Event.kind == "purchase") == 6
