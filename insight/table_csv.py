"""Tables as CSV for a spreadsheet: UTF-8 with a byte-order mark (so Excel reads the
encoding), and every cell that a spreadsheet would run as a formula made inert.

A cell starting with `=`, `+`, `-`, `@`, a tab, a carriage return or NUL is prefixed with
`'` (OWASP, CWE-1236): lead names and notes are typed by the public. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def inert(value: object) -> object:
    """The cell as written: text that could start a formula gets a leading apostrophe."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The table as CSV bytes (UTF-8 with BOM)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([inert(c) for c in columns])
    for row in rows:
        writer.writerow([inert(cell) for cell in row])
    return out.getvalue().encode("utf-8-sig")
