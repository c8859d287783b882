"""CSV and JSON-lines import files, read row by row: whole-file problems stop, row problems are reported."""

from __future__ import annotations

import codecs
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enrolment.domain.households import FieldError, Household
from enrolment.domain.imports import read_csv, read_json_lines
from shared.errors import InvalidInput

FRENCH_HEADER = (
    "Identifiant RSU;Nom du chef de ménage;Sexe du chef de ménage;Année de naissance du chef de ménage;"
    "Taille du ménage;Région;Cercle;Commune;Village;Téléphone;NINA;Score PMT"
)
ROW = "RSU-{n};Moussa Traoré;M;1975;6;Ségou;Niono;Pogo;Sirakoro;76 12 34 {n:02d};;11,2"


def french_csv(*rows: str, header: str = FRENCH_HEADER) -> io.BytesIO:
    return io.BytesIO("\n".join([header, *rows]).encode("utf-8"))


def json_lines(*records: dict[str, Any] | str) -> io.BytesIO:
    lines = [record if isinstance(record, str) else json.dumps(record) for record in records]
    return io.BytesIO("\n".join(lines).encode("utf-8"))


def errors_of(stream: io.BytesIO) -> dict[int, list[FieldError]]:
    return {row: parsed for row, parsed in read_csv(stream) if isinstance(parsed, list)}


def test_csv_rows_are_parsed_with_french_headers_and_semicolons() -> None:
    rows = list(read_csv(french_csv(ROW.format(n=1), ROW.format(n=2))))

    assert [row for row, _ in rows] == [2, 3]
    assert all(isinstance(parsed, Household) for _, parsed in rows)
    assert [parsed.msisdn for _, parsed in rows if isinstance(parsed, Household)] == [
        "+22376123401",
        "+22376123402",
    ]


def test_csv_with_english_headers_and_commas_is_read() -> None:
    header = "rsu_id,head_name,head_sex,head_birth_year,size,region,cercle,commune,village,msisdn"
    stream = io.BytesIO(f"{header}\nRSU-1,Awa Diarra,F,1980,3,Kayes,Kita,Kita,Sébékoro,66123456\n".encode())

    [(row, parsed)] = list(read_csv(stream))

    assert row == 2
    assert isinstance(parsed, Household)
    assert (parsed.cercle, parsed.operator) == ("Kita", "moov")


def test_headers_are_matched_without_accents_or_case() -> None:
    header = FRENCH_HEADER.upper().replace("É", "E")

    [(_, parsed)] = list(read_csv(french_csv(ROW.format(n=1), header=header)))

    assert isinstance(parsed, Household)


def test_utf8_byte_order_mark_is_skipped() -> None:
    stream = io.BytesIO(codecs.BOM_UTF8 + french_csv(ROW.format(n=1)).getvalue())

    [(_, parsed)] = list(read_csv(stream))

    assert isinstance(parsed, Household)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", codecs.BOM_UTF8])
def test_empty_file_is_refused(content: bytes) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        read_csv(io.BytesIO(content))
    with pytest.raises(InvalidInput, match="empty"):
        read_json_lines(io.BytesIO(content))


def test_latin1_file_is_refused_with_a_clear_reason() -> None:
    stream = io.BytesIO("\n".join([FRENCH_HEADER, ROW.format(n=1)]).encode("latin-1"))

    with pytest.raises(InvalidInput, match=r"line 1 is not UTF-8 \(byte 0xE9\).*Latin-1") as refused:
        read_csv(stream)
    assert refused.value.details == {"line": 1}


def test_latin1_bytes_after_the_header_stop_the_import_at_their_line() -> None:
    stream = io.BytesIO(french_csv(ROW.format(n=1)).getvalue() + b"\n" + ROW.format(n=2).encode("latin-1"))
    rows = read_csv(stream)

    assert isinstance(next(rows)[1], Household)
    with pytest.raises(InvalidInput, match="line 3 is not UTF-8"):
        next(rows)


def test_utf16_file_is_refused() -> None:
    with pytest.raises(InvalidInput, match="UTF-16"):
        read_csv(io.BytesIO(FRENCH_HEADER.encode("utf-16")))


def test_missing_and_unknown_columns_are_reported_in_one_error_before_any_row() -> None:
    header = "Identifiant RSU;Nom;Sexe;Année de naissance;Taille du ménage;Région;Cercle;Commune;Village"

    with pytest.raises(InvalidInput) as refused:
        read_csv(french_csv("whatever", header=header))

    assert refused.value.details["missing"] == ["head_name", "msisdn"]
    assert refused.value.details["unknown"] == ["Nom"]
    assert "Nom du chef de ménage (head_name)" in refused.value.message
    assert "Téléphone (msisdn)" in refused.value.message


def test_a_column_given_twice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="columns given twice: msisdn"):
        read_csv(french_csv(header=FRENCH_HEADER + ";msisdn"))


def test_unknown_region_row_is_rejected_and_the_import_goes_on() -> None:
    bad = ROW.format(n=2).replace("Ségou", "Segu")

    rows = list(read_csv(french_csv(ROW.format(n=1), bad, ROW.format(n=3))))

    assert [type(parsed) for _, parsed in rows] == [Household, list, Household]
    assert rows[1] == (3, [FieldError("region", "unknown region 'Segu'")])


def test_unknown_cercle_row_is_rejected() -> None:
    bad = ROW.format(n=1).replace("Niono", "Kidal")

    assert errors_of(french_csv(bad)) == {
        2: [FieldError("cercle", "cercle 'Kidal' is in region Kidal, not Ségou")]
    }


@pytest.mark.parametrize(
    ("phone", "reason"), [("7612340", "expected 8 digits"), ("+33612345678", "foreign number")]
)
def test_invalid_or_foreign_number_row_is_rejected_with_its_reason(phone: str, reason: str) -> None:
    bad = ROW.format(n=1).replace("76 12 34 01", phone)

    [[error]] = errors_of(french_csv(bad)).values()

    assert error.field == "msisdn"
    assert reason in error.reason


def test_same_household_twice_in_a_file_is_rejected_as_duplicate_in_file() -> None:
    rows = list(read_csv(french_csv(ROW.format(n=1), ROW.format(n=2), ROW.format(n=1))))

    assert rows[2] == (4, [FieldError("rsu_id", "duplicate in file: same RSU id as row 2")])


def test_row_with_a_missing_value_is_reported_on_its_field() -> None:
    bad = ROW.format(n=1).replace("Moussa Traoré", "")

    assert errors_of(french_csv(bad)) == {2: [FieldError("head_name", "required")]}


def test_row_with_the_wrong_number_of_values_is_reported() -> None:
    assert errors_of(french_csv("RSU-1;Awa Diarra;F")) == {2: [FieldError("row", "3 values for 12 columns")]}


def test_blank_lines_are_skipped_and_rows_keep_their_spreadsheet_number() -> None:
    rows = list(read_csv(french_csv("", ROW.format(n=1))))

    assert [row for row, _ in rows] == [3]


def test_json_lines_are_read_with_numbers_and_strings() -> None:
    record = {
        "rsu_id": "RSU-9",
        "head_name": "Ali Touré",
        "head_sex": "M",
        "head_birth_year": 1970,
        "size": 4,
        "Région": "Gao",
        "cercle": "Gao",
        "commune": "Gabero",
        "village": "Haoussa Foulane",
        "msisdn": "+22366123456",
        "pmt_score": 12.345,
        "nina": None,
    }

    [(row, parsed)] = list(read_json_lines(json_lines(record)))

    assert row == 1
    assert isinstance(parsed, Household)
    assert (parsed.head_birth_year, parsed.pmt_score, parsed.region) == (1970, 1234, "Gao")


def test_malformed_json_line_is_a_row_error_and_the_import_goes_on() -> None:
    good = {
        "rsu_id": "RSU-9",
        "head_name": "Ali Touré",
        "head_sex": "M",
        "head_birth_year": "1970",
        "size": "4",
    }
    good |= {"region": "Gao", "cercle": "Gao", "commune": "Gao", "village": "Château", "msisdn": "66123456"}

    rows = list(read_json_lines(json_lines('{"rsu_id": "RSU-8",', "[1, 2]", good)))

    reason = "not valid JSON: Expecting property name enclosed in double quotes (column 20)"
    assert rows[0] == (1, [FieldError("row", reason)])
    assert rows[1] == (2, [FieldError("row", "not a JSON object")])
    assert isinstance(rows[2][1], Household)


def test_json_value_of_another_type_is_a_row_error_with_the_other_fields() -> None:
    [(_, errors)] = list(read_json_lines(json_lines({"rsu_id": True, "colour": "blue"})))

    assert isinstance(errors, list)
    assert errors[0] == FieldError("rsu_id", "expected a string or a number")
    assert FieldError("colour", "unknown field") in errors
    assert FieldError("rsu_id", "required") not in errors


def test_same_household_twice_in_a_json_lines_file_is_rejected() -> None:
    good = {
        "rsu_id": "RSU-9",
        "head_name": "Ali Touré",
        "head_sex": "M",
        "head_birth_year": "1970",
        "size": "4",
    }
    good |= {"region": "Gao", "cercle": "Gao", "commune": "Gao", "village": "Château", "msisdn": "66123456"}

    rows = list(read_json_lines(json_lines(good, good)))

    assert rows[1] == (2, [FieldError("rsu_id", "duplicate in file: same RSU id as row 1")])


def test_a_large_generated_file_is_read_one_line_at_a_time(
    generated_file: tuple[Path, dict[str, Any]],
) -> None:
    path, truth = generated_file
    pulled = 0

    def counted(lines: Iterator[bytes]) -> Iterator[bytes]:
        nonlocal pulled
        for line in lines:
            pulled += 1
            yield line

    with path.open("rb") as file:
        rows = read_csv(counted(file))
        assert pulled == 1  # the header, checked at once
        first_ten = list(itertools.islice(rows, 10))
        assert pulled == 11
        remaining = sum(1 for _ in rows)

    assert [row for row, _ in first_ten] == list(range(2, 12))
    assert len(first_ten) + remaining == truth["households"]


def test_a_stream_longer_than_memory_could_hold_is_never_read_ahead() -> None:
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        yield FRENCH_HEADER.encode() + b"\n"
        for n in itertools.count():
            pulled += 1
            yield f"{ROW.format(n=n % 100).replace('RSU-', f'RSU-{n}-')}\n".encode()

    rows = read_csv(endless())
    assert all(isinstance(parsed, Household) for _, parsed in itertools.islice(rows, 1000))
    assert pulled == 1000
