"""What each kind of file holds, column by column, and what a good value looks like.

A row is checked whole: every bad column is reported (row, column, what was expected), and
a row with any bad column is not imported. Amounts are decimals in major units plus a
`currency` (ISO 4217), as a spreadsheet shows them; Facet stores minor units.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from domain.catalogue import Piece
from domain.errors import InvalidField
from domain.imports import RowError
from domain.leads import Budget, Details, Identity, normalise_email, normalise_phone
from sequences.vocabulary import Segment

IDENTITY = ["external_customer_id", "phone", "email", "first_name", "last_name"]
COLUMNS: dict[str, tuple[list[str], list[str]]] = {
    # kind: (required columns, optional columns)
    "customers": (
        [],
        [*IDENTITY, "segment", "birthday", "anniversary", "budget", "currency", "metals", "stones"],
    ),
    "sales": (
        ["external_sale_id", "line_no", "sold_at", "qty", "unit_price"],
        [*IDENTITY, "currency", "sku", "title", "category", "metal", "purity", "weight_g"],
    ),
    "products": (
        ["sku", "title"],
        [
            "category",
            "metal",
            "purity",
            "weight_g",
            "stones",
            "price",
            "currency",
            "stock",
            "image_url",
            "external_product_id",
        ],
    ),
}
# Currencies without minor units (ISO 4217 exponent 0) among those a store may use.
WHOLE_CURRENCIES = {"JPY", "KRW", "VND", "CLP", "ISK", "IDR", "HUF"}
MAX_MAJOR = Decimal(10) ** 13
T = TypeVar("T")


class Bad(ValueError):
    """A value that is not what the column expects; the message says what was expected."""


@dataclass
class Row:
    """One record being checked; `take` collects each bad column's error instead of raising."""

    number: int
    values: dict[str, str]
    errors: list[RowError] = field(default_factory=list)

    def text(self, column: str, *, limit: int = 200) -> str | None:
        value = self.values.get(column) or None
        if value is not None and len(value) > limit:
            self.errors.append(RowError(self.number, column, f"at most {limit} characters"))
            return None
        return value

    def take(self, column: str, parse: Callable[[str], T], *, required: bool = False) -> T | None:
        value = self.values.get(column, "")
        if not value:
            if required:
                self.errors.append(RowError(self.number, column, "a value (it is required)"))
            return None
        try:
            return parse(value)
        except Bad as error:
            self.errors.append(RowError(self.number, column, str(error)))
            return None


def whole(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) < minimum:
            raise Bad(f"a whole number of at least {minimum}, not {value[:40]!r}")
        return int(value)

    return parse


def decimal(value: str) -> Decimal:
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation as error:
        raise Bad(f"a decimal amount such as 1250.50, not {value[:40]!r}") from error
    if not amount.is_finite() or amount < 0 or amount >= MAX_MAJOR:
        raise Bad(f"an amount from 0 to under 10^13, not {value[:40]!r}")
    return amount


def currency(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise Bad(f"a three-letter currency code such as INR or USD, not {value[:40]!r}")
    return value.upper()


def minor_units(amount: Decimal, code: str) -> int:
    exponent = 0 if code in WHOLE_CURRENCIES else 2
    scaled = amount * (10**exponent)
    if scaled != scaled.to_integral_value():
        raise Bad(f"at most {exponent} decimal places for {code}")
    return int(scaled)


def moment(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise Bad(
            f"an ISO-8601 date-time such as 2026-11-30T17:45:00+05:30, not {value[:40]!r}"
        ) from error
    if when.tzinfo is None:
        raise Bad("a date-time with its UTC offset (such as +05:30 or Z)")
    if not 1900 <= when.year <= 2100:
        raise Bad("a date-time between the years 1900 and 2100")
    return when.astimezone(UTC)


def day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise Bad(f"an ISO date such as 1990-06-14, not {value[:40]!r}") from error


def weight(value: str) -> float:
    try:
        grams = float(value)
    except ValueError as error:
        raise Bad(f"a weight in grams such as 4.25, not {value[:40]!r}") from error
    if not 0 <= grams < 100_000:
        raise Bad("a weight in grams from 0 to 100000")
    return grams


def word_list(value: str) -> list[str]:
    """`gold;platinum` (semicolons, so a comma-separated file needs no quotes)."""
    return [part.strip().lower() for part in value.split(";") if part.strip()]


def segment(value: str) -> str:
    try:
        return Segment(value.strip().lower()).value
    except ValueError as error:
        choices = ", ".join(member.value for member in Segment)
        raise Bad(f"one of {choices}") from error


def url(value: str) -> str:
    if not re.fullmatch(r"https?://\S{1,990}", value):
        raise Bad("an http(s) URL")
    return value


@dataclass(frozen=True)
class Person:
    who: Identity
    details: Details


def person(row: Row, source: str, country: str, store_currency: str) -> Person | None:
    """The customer columns (a customers file, or a sale line's buyer). The file's
    `external_customer_id` is the person's id in `source` (the system that wrote the file):
    matched in that source's ids, before the phone and the email."""
    external = row.text("external_customer_id", limit=100)
    email = row.take("email", _email)
    phone = row.take("phone", lambda raw: normalise_phone_or_bad(raw, country))
    if not (external or email or phone) and not any(
        e.column in ("email", "phone") for e in row.errors
    ):
        row.errors.append(
            RowError(row.number, "phone", "a phone, an email or an external_customer_id")
        )
    first, last = row.text("first_name", limit=100), row.text("last_name", limit=100)
    occasions: dict[str, str] = {}
    for name in ("birthday", "anniversary"):
        when = row.take(name, day)
        if when is not None:
            occasions[name] = when.isoformat()
    budget = row.take("budget", decimal)
    code = row.take("currency", currency) or store_currency
    budget_minor = _minor(row, "budget", budget, code)
    details = Details(
        first_name=first,
        last_name=last,
        segment=row.take("segment", segment),
        occasion_dates=occasions,
        budget=Budget(amount_minor=budget_minor, currency=code) if budget_minor else None,
        metals=row.take("metals", word_list) or [],
        stones=row.take("stones", word_list) or [],
    )
    who = Identity(phone=phone, email=email, external=(source, external) if external else None)
    return None if row.errors else Person(who, details)


def _minor(row: Row, column: str, amount: Decimal | None, code: str) -> int | None:
    if amount is None:
        return None
    try:
        return minor_units(amount, code)
    except Bad as error:
        row.errors.append(RowError(row.number, column, str(error)))
        return None


def _email(value: str) -> str:
    try:
        normalised = normalise_email(value)
    except ValueError as error:
        raise Bad("an email address such as name@example.com") from error
    assert normalised is not None
    return normalised


def normalise_phone_or_bad(raw: str, country: str) -> str:
    try:
        return normalise_phone(raw, country)
    except InvalidField as error:
        raise Bad(f"a phone number ({error.message})") from error


@dataclass(frozen=True)
class SaleLine:
    external_sale_id: str
    line_no: int
    sold_at: datetime
    buyer: Person
    currency: str
    amount_minor: int
    item: dict[str, Any]


def sale_line(row: Row, source: str, country: str, store_currency: str) -> SaleLine | None:
    sale_id = row.text("external_sale_id", limit=80)
    if sale_id is None and not row.errors:
        row.errors.append(RowError(row.number, "external_sale_id", "a value (it is required)"))
    line_no = row.take("line_no", whole(1), required=True)
    sold_at = row.take("sold_at", moment, required=True)
    qty = row.take("qty", whole(1), required=True)
    price = row.take("unit_price", decimal, required=True)
    buyer = person(row, source, country, store_currency)
    code = row.take("currency", currency) or store_currency
    unit_minor = _minor(row, "unit_price", price, code)
    sku, title = row.text("sku", limit=100), row.text("title", limit=300)
    item: dict[str, Any] = {
        "line_no": line_no,
        "sku": sku,
        "name": title or sku or "item",
        "category": row.text("category", limit=64),
        "metal": row.text("metal", limit=32),
        "purity": row.text("purity", limit=16),
        "weight_g": row.take("weight_g", weight),
        "qty": qty,
        "unit_price_minor": unit_minor,
    }
    if row.errors or buyer is None:
        return None
    assert sale_id and line_no and sold_at and qty and unit_minor is not None
    return SaleLine(
        external_sale_id=sale_id,
        line_no=line_no,
        sold_at=sold_at,
        buyer=buyer,
        currency=code,
        amount_minor=qty * unit_minor,
        item={key: value for key, value in item.items() if value is not None},
    )


def stones(value: str) -> list[dict[str, Any]]:
    """`diamond:0.5;ruby:0.25` — each stone's type and, after a colon, its carats."""
    found: list[dict[str, Any]] = []
    for part in word_list(value):
        kind, _, carat = part.partition(":")
        stone: dict[str, Any] = {"type": kind.strip()}
        if carat:
            try:
                stone["carat"] = float(carat)
            except ValueError as error:
                raise Bad(
                    f"stones as type:carats;… such as diamond:0.5, not {value[:40]!r}"
                ) from error
        found.append(stone)
    return found


def product(row: Row, store_currency: str) -> Piece | None:
    sku = row.text("sku", limit=100)
    title = row.text("title", limit=300)
    for column, value in (("sku", sku), ("title", title)):
        if value is None and not any(e.column == column for e in row.errors):
            row.errors.append(RowError(row.number, column, "a value (it is required)"))
    price = row.take("price", decimal)
    code = row.take("currency", currency) or store_currency
    piece = Piece(
        sku=sku or "",
        title=title or "",
        category=(row.text("category", limit=64) or "").lower() or None,
        metal=(row.text("metal", limit=32) or "").lower() or None,
        purity=row.text("purity", limit=16),
        weight_g=row.take("weight_g", weight),
        stones=row.take("stones", stones) or [],
        price_minor=_minor(row, "price", price, code),
        currency=code if price is not None else None,
        stock=row.take("stock", whole(0)) or 0,
        image_url=row.take("image_url", url),
        external_product_id=row.text("external_product_id", limit=100),
    )
    return None if row.errors else piece
