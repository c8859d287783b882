"""Builders of household records for the enrolment domain tests, and one generated RSU file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from enrolment.domain.households import Household, parse_household
from filet.registry_sample import generate

ROOT = Path(__file__).resolve().parents[3]

RecordBuilder = Callable[..., dict[str, str]]
HouseholdBuilder = Callable[..., Household]


def _record(**changes: str) -> dict[str, str]:
    """A valid raw record (canonical field names), with `changes` applied."""
    return {
        "rsu_id": "RSU-SG-000123",
        "head_name": "Moussa Traoré",
        "head_sex": "M",
        "head_birth_year": "1975",
        "size": "6",
        "region": "Ségou",
        "cercle": "Niono",
        "commune": "Pogo",
        "village": "Sirakoro",
        "msisdn": "76123401",
        "nina": "",
        "preferred_modality": "mobile_money",
        "pmt_score": "",
        "hea_category": "",
    } | changes


@pytest.fixture
def record() -> RecordBuilder:
    return _record


@pytest.fixture
def household() -> HouseholdBuilder:
    def build(**changes: str) -> Household:
        parsed = parse_household(_record(**changes))
        assert isinstance(parsed, Household), parsed
        return parsed

    return build


@pytest.fixture(scope="session")
def generated_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """5,000 rows written by filet.registry_sample, and their ground truth."""
    out = tmp_path_factory.mktemp("rsu") / "rsu.csv"
    generate(5000, out, seed=2026, duplicate_percent=3, bad_percent=1)
    return out, json.loads(out.with_suffix(".truth.json").read_text(encoding="utf-8"))
