"""Reading a CSV as it arrives: one line at a time, never the whole file in memory.

UTF-8 with a header row; a byte-order mark is tolerated; comma or pipe separated (the
header decides). Rows are numbered as a spreadsheet shows them: the header is row 1.
A file that is not UTF-8 stops with the line and byte where it stops being UTF-8.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"


class FileRefused(Exception):
    """The file as a whole cannot be read (encoding, header): a sentence a person can act on."""


@dataclass(frozen=True)
class Record:
    row: int
    values: dict[str, str]


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The file's lines, decoded. UTF-8 never puts a newline byte inside a character, so
    splitting the bytes on newlines first is safe."""
    pending = b""
    number = 0
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            number += 1
            yield _decoded(raw + b"\n", number)
    if pending:
        yield _decoded(pending, number + 1)


def _decoded(raw: bytes, number: int) -> str:
    if number == 1 and raw.startswith(BOM):
        raw = raw[len(BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = raw[error.start : error.start + 1].hex()
        raise FileRefused(
            f"the file is not UTF-8: line {number}, byte {error.start + 1} is 0x{bad}; "
            "save it as UTF-8 (in Excel: CSV UTF-8) and upload it again"
        ) from error


def records(
    chunks: Iterable[bytes], required: Iterable[str], known: Iterable[str]
) -> Iterator[Record]:
    """The file's rows by column name, after checking the header names every required column."""
    lines = _lines(chunks)
    first = next(lines, None)
    if first is None or not first.strip():
        raise FileRefused("the file is empty: the first line must be the header row")
    delimiter = "|" if "|" in first and "," not in first else ","
    header = [name.strip().lower() for name in next(csv.reader([first], delimiter=delimiter))]
    missing = [name for name in required if name not in header]
    if missing:
        raise FileRefused(
            f"the header row lacks the column(s) {', '.join(missing)}; "
            f"the columns this file may have are: {', '.join(known)}"
        )
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    if duplicated:
        raise FileRefused(f"the header row names {', '.join(duplicated)} more than once")
    reader = csv.reader(lines, delimiter=delimiter)
    row = 1
    for values in reader:
        row += 1
        if not any(value.strip() for value in values):
            continue  # a blank line (a spreadsheet's trailing rows)
        yield Record(
            row, {name: value.strip() for name, value in zip(header, values, strict=False)}
        )
