"""The AsyncAPI document in the repository is the one the catalogue generates."""

from __future__ import annotations

import json
from pathlib import Path

from filet.asyncapi import document
from shared.events.catalogue import CATALOGUE


def test_the_committed_asyncapi_document_matches_the_event_catalogue() -> None:
    committed = json.loads((Path(__file__).parents[3] / "asyncapi.json").read_text())

    assert committed == json.loads(json.dumps(document(), ensure_ascii=False))


def test_every_event_type_has_a_message_in_the_document() -> None:
    names = {message["name"] for message in document()["components"]["messages"].values()}

    assert names == {spec.event_type for spec in CATALOGUE}
