"""Extra server settings for the embedded PostgreSQL (`FILET_POSTGRES_SETTINGS`), for diagnosis."""

from __future__ import annotations

import pytest

from filet.embedded import EmbeddedError, extra_settings


def test_each_pair_becomes_a_server_option_in_order() -> None:
    assert extra_settings(" shared_preload_libraries=auto_explain  auto_explain.log_min_duration=2000 ") == [
        "-c",
        "shared_preload_libraries=auto_explain",
        "-c",
        "auto_explain.log_min_duration=2000",
    ]
    assert extra_settings("") == []


@pytest.mark.parametrize("pair", ["work_mem", "=4MB", "work mem=4MB", "-D=/tmp", "a..b=1"])
def test_anything_not_a_setting_is_refused_by_name(pair: str) -> None:
    with pytest.raises(EmbeddedError, match="FILET_POSTGRES_SETTINGS"):
        extra_settings(pair)
