"""CSV exports of a metric's rows (or the leads behind it), safe to open in a spreadsheet.

A cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab, a
carriage return or NUL: CWE-1236, OWASP ASVS 1.2.10) is written with a leading `'`, so a lead
who calls themselves `=HYPERLINK("x")` is exported as text. Numbers are written as numbers.
The weekly report attaches the same CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from insight.registry import Result, Row, format_value

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def inert(value: Any) -> Any:
    """The cell as a spreadsheet should show it: text that looks like a formula gets a `'`."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = str(value)
        return "'" + text if text.startswith(FORMULA_STARTS) else text
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (RFC 4180, CRLF line ends) with every cell made inert."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([inert(cell) for cell in header])
    for row in rows:
        writer.writerow([inert(cell) for cell in row])
    return out.getvalue()


def result_csv(result: Result) -> str:
    """A metric's result as CSV: one line per row (or one line for the whole), with the
    period, the value as a person reads it, and numerator/denominator for ratios."""
    dims = list(result.rows[0].keys) if result.rows else list(result.dimensions)
    header = [
        "metric", "period_start", "period_end", *dims, "value", "display", "numerator",
        "denominator",
    ]  # fmt: skip
    lines: list[Row | None] = list(result.rows) or [None]
    rows = []
    for row in lines:
        value = result.value if row is None else row.value
        keys = {} if row is None else row.keys
        currency = keys.get("currency") or result.currency
        rows.append(
            [
                result.metric.name,
                result.period.start.isoformat(),
                result.period.end.isoformat(),
                *[keys.get(d) for d in dims],
                value,
                format_value(result.metric, value, currency),
                result.numerator if row is None else row.numerator,
                result.denominator if row is None else row.denominator,
            ]
        )
    return to_csv(header, rows)


def leads_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The leads behind a number (from `registry.lead_list`) as CSV."""
    header = list(rows[0]) if rows else ["lead_id", "first_name", "last_name"]
    return to_csv(header, ([row.get(h) for h in header] for row in rows))
