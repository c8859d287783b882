"""What every French spreadsheet export needs read alike: its encoding, its labels, its rows and its francs."""

from __future__ import annotations

import csv
import unicodedata

#: Thousands separators of French-style amounts: `30 000`, `30 000` (no-break spaces), `30.000`.
FRENCH_THOUSANDS = " \u00a0\u202f."


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1252 as spreadsheets save it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def label(text: str) -> str:
    """Compare labels as people read them: no case, no accents, one kind of apostrophe, single spaces."""
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(stripped.replace("’", "'").casefold().split())


def csv_rows(lines: list[str], separator: str) -> list[tuple[int, list[str]]]:
    """Every row with its line number (from 1) and its cells stripped."""
    reader = csv.reader(lines, delimiter=separator)
    return [(number, [cell.strip() for cell in row]) for number, row in enumerate(reader, start=1)]


def francs(text: str | None, *, thousands: str, decimal: str, signed: bool = False) -> int | None:
    """Whole francs from `30 000`, `30000,00` (None if empty); ValueError for anything else (a fraction too)."""
    cleaned = "".join(c for c in (text or "") if c not in thousands)
    if not cleaned:
        return None
    whole, _, fraction = cleaned.partition(decimal)
    digits = whole[1:] if signed and whole.startswith("-") else whole
    if not digits.isascii() or not digits.isdigit() or fraction.strip("0"):
        raise ValueError(f"{text!r} is not a whole number of francs")
    return int(whole)
