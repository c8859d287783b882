"""Streaming readers of household import files (CSV or JSON lines): one parsed household or its errors per row.

Both readers take a binary stream (a file opened in "rb", or any iterable of byte lines), read it one line
at a time and yield `(row_number, Household | list[FieldError])`, so memory stays flat whatever the file's
size (only the RSU ids already seen are kept, to refuse the same household twice in one file).

Problems with the whole file raise `InvalidInput` before or while rows are read: an empty file, a file that
is not UTF-8 (a UTF-8 byte-order mark is accepted and skipped), a CSV header with missing or unknown columns.
Problems with one row are that row's errors and the import goes on: a value refused by the household rules,
a malformed JSON line, a CSV row with the wrong number of values, an RSU id already seen in the file.

CSV: the delimiter is "," or ";", whichever the header line has more of. Headers are compared accent-, case-
and punctuation-insensitively ("TELEPHONE" is "Téléphone"); the canonical name is always accepted. Row
numbers are as a spreadsheet shows them: the header is row 1. JSON lines: one object per line with the same
keys as the CSV headers, numbers and strings both accepted; row numbers are line numbers.

    canonical name       other accepted headers                                       column required
    rsu_id               Identifiant RSU · ID RSU                                     yes
    head_name            Nom du chef de ménage · Chef de ménage                       yes
    head_sex             Sexe du chef de ménage · Sexe                                yes
    head_birth_year      Année de naissance du chef de ménage · Année de naissance    yes
    size                 Taille du ménage                                             yes
    region               Région                                                       yes
    cercle               Cercle                                                       yes
    commune              Commune                                                      yes
    village              Village                                                      yes
    msisdn               Téléphone · Numéro de téléphone                              yes (empty for a voucher)
    nina                 NINA                                                         no
    preferred_modality   Modalité · Modalité de paiement                              no
    pmt_score            Score PMT                                                    no
    hea_category         Catégorie HEA                                                no
    programme_ids        Identifiants programmes                                      no
"""

from __future__ import annotations

import codecs
import csv
import functools
import json
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

from enrolment.domain.geography import name_key
from enrolment.domain.households import FieldError, Household, parse_household
from shared.errors import InvalidInput

Row = tuple[int, Household | list[FieldError]]

#: Canonical field -> the other headers accepted for it (see the table in the module docstring).
COLUMNS: dict[str, tuple[str, ...]] = {
    "rsu_id": ("Identifiant RSU", "ID RSU"),
    "head_name": ("Nom du chef de ménage", "Chef de ménage"),
    "head_sex": ("Sexe du chef de ménage", "Sexe"),
    "head_birth_year": ("Année de naissance du chef de ménage", "Année de naissance"),
    "size": ("Taille du ménage",),
    "region": ("Région",),
    "cercle": ("Cercle",),
    "commune": ("Commune",),
    "village": ("Village",),
    "msisdn": ("Téléphone", "Numéro de téléphone"),
    "nina": ("NINA",),
    "preferred_modality": ("Modalité", "Modalité de paiement"),
    "pmt_score": ("Score PMT",),
    "hea_category": ("Catégorie HEA",),
    "programme_ids": ("Identifiants programmes",),
}
REQUIRED_COLUMNS = (
    "rsu_id",
    "head_name",
    "head_sex",
    "head_birth_year",
    "size",
    "region",
    "cercle",
    "commune",
    "village",
    "msisdn",
)

_FIELD_BY_HEADER = {
    name_key(header): field for field, headers in COLUMNS.items() for header in (field, *headers)
}


@functools.lru_cache(maxsize=256)
def _field(header: str) -> str | None:
    """The canonical field a header or JSON key stands for; None if it stands for none."""
    return _FIELD_BY_HEADER.get(name_key(header))


def read_csv(stream: Iterable[bytes]) -> Iterator[Row]:
    """Rows of a CSV file; the header is checked at once (InvalidInput), the rows as they are iterated."""
    lines = _utf8_lines(stream)
    blank_lines, header = _first_filled_line(lines)
    delimiter = ";" if header.count(";") > header.count(",") else ","
    fields = _fields_of(next(csv.reader([header], delimiter=delimiter)))
    return _csv_rows(lines, delimiter, fields, header_row=blank_lines + 1)


def read_json_lines(stream: Iterable[bytes]) -> Iterator[Row]:
    """Rows of a JSON-lines file: one object per line; a malformed line is that row's error."""
    lines = _utf8_lines(stream)
    blank_lines, first = _first_filled_line(lines)
    return _json_rows(chain([first], lines), first_row=blank_lines + 1)


def _utf8_lines(stream: Iterable[bytes]) -> Iterator[str]:
    for number, line in enumerate(stream, start=1):
        if number == 1:
            if line.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise InvalidInput("the file is UTF-16: save it as UTF-8 (in a spreadsheet: 'CSV UTF-8')")
            line = line.removeprefix(codecs.BOM_UTF8)
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidInput(
                f"line {number} is not UTF-8 (byte 0x{line[error.start]:02X}): the file is probably Latin-1 or "
                "Windows-1252; save it as UTF-8 (in a spreadsheet: 'CSV UTF-8')",
                details={"line": number},
            ) from None


def _first_filled_line(lines: Iterator[str]) -> tuple[int, str]:
    """The count of blank lines skipped, and the first line that is not blank."""
    for skipped, line in enumerate(lines):
        if line.strip():
            return skipped, line
    raise InvalidInput("the file is empty")


def _fields_of(headers: list[str]) -> list[str]:
    """Canonical field of each column; one InvalidInput naming every missing, unknown or repeated column."""
    fields = [_field(header) or header for header in headers]
    unknown = [header for header in headers if _field(header) is None]
    repeated = sorted({field for field in fields if fields.count(field) > 1})
    missing = [field for field in REQUIRED_COLUMNS if field not in fields]
    if unknown or repeated or missing:
        problems = [
            f"{label}: {', '.join(names)}"
            for label, names in (
                ("missing columns", [f"{COLUMNS[field][0]} ({field})" for field in missing]),
                ("unknown columns", [repr(header) for header in unknown]),
                ("columns given twice", repeated),
            )
            if names
        ]
        raise InvalidInput(
            "the header does not match the expected columns: " + "; ".join(problems),
            details={"missing": missing, "unknown": unknown, "repeated": repeated, "accepted": COLUMNS},
        )
    return fields


def _csv_rows(lines: Iterator[str], delimiter: str, fields: list[str], *, header_row: int) -> Iterator[Row]:
    reader = csv.reader(lines, delimiter=delimiter)
    first_row_of: dict[str, int] = {}
    row_number = header_row
    try:
        for row_number, values in enumerate(reader, start=header_row + 1):
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(fields):
                yield row_number, [FieldError("row", f"{len(values)} values for {len(fields)} columns")]
                continue
            parsed = parse_household(dict(zip(fields, values, strict=True)))
            yield row_number, _once_per_file(row_number, parsed, first_row_of)
    except csv.Error as error:
        raise InvalidInput(
            f"row {row_number + 1} is not valid CSV: {error}", details={"row": row_number + 1}
        ) from None


def _json_rows(lines: Iterable[str], *, first_row: int) -> Iterator[Row]:
    first_row_of: dict[str, int] = {}
    for row_number, line in enumerate(lines, start=first_row):
        if not line.strip():
            continue
        try:
            record = json.loads(line.strip(), parse_float=str, parse_int=str)
        except json.JSONDecodeError as error:
            yield row_number, [FieldError("row", f"not valid JSON: {error.msg} (column {error.colno})")]
            continue
        if not isinstance(record, dict):
            yield row_number, [FieldError("row", "not a JSON object")]
            continue
        raw, errors = _json_record(record)
        parsed = parse_household(raw)
        if errors:
            refused = {error.field for error in errors}
            others = (
                [error for error in parsed if error.field not in refused] if isinstance(parsed, list) else []
            )
            yield row_number, errors + others
        else:
            yield row_number, _once_per_file(row_number, parsed, first_row_of)


def _json_record(record: dict[str, Any]) -> tuple[dict[str, str], list[FieldError]]:
    """Keys through the column table, values as text (null is empty); other JSON types are errors, left out."""
    raw: dict[str, str] = {}
    errors: list[FieldError] = []
    for key, value in record.items():
        field = _field(key) or key
        if value is None:
            raw[field] = ""
        elif isinstance(value, str):
            raw[field] = value
        else:
            errors.append(FieldError(field, "expected a string or a number"))
    return raw, errors


def _once_per_file(
    row_number: int, parsed: Household | list[FieldError], first_row_of: dict[str, int]
) -> Household | list[FieldError]:
    """Refuse a household whose RSU id an earlier accepted row of the same file already had."""
    if isinstance(parsed, list):
        return parsed
    first = first_row_of.setdefault(parsed.rsu_id, row_number)
    if first != row_number:
        return [FieldError("rsu_id", f"duplicate in file: same RSU id as row {first}")]
    return parsed
