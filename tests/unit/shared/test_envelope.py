"""The CloudEvents envelope: what goes out comes back equal; what is malformed is refused with a reason."""

from __future__ import annotations

import uuid

import orjson
import pytest

from shared.events import decode, encode, new_envelope
from shared.events.contracts import HouseholdRegistered
from shared.events.envelope import UnknownEventType


def registered() -> HouseholdRegistered:
    return HouseholdRegistered(
        household_id=uuid.uuid4(),
        rsu_id="RSU-SK-000042",
        head_name="Fatoumata Coulibaly",
        msisdn="+22376123401",
        operator="orange",
        size=7,
        region="Sikasso",
        cercle="Koutiala",
        commune="Koutiala",
    )


def test_an_encoded_event_decodes_to_the_same_envelope_and_data() -> None:
    data = registered()
    envelope = new_envelope(source="/filet/enrolment", data=data, subject=str(data.household_id))

    decoded = decode(encode(envelope))

    assert decoded.id == envelope.id
    assert decoded.type == "household.registered"
    assert decoded.data == data
    assert decoded.key == str(data.household_id)
    assert decoded.time == envelope.time


def test_the_envelope_carries_the_cloudevents_attributes() -> None:
    document = orjson.loads(encode(new_envelope(source="/filet/enrolment", data=registered(), subject="h")))

    assert set(document) == {
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "subject",
        "datacontenttype",
        "data",
    }
    assert document["specversion"] == "1.0"


def test_an_unknown_event_type_is_refused_as_unknown() -> None:
    document = orjson.loads(encode(new_envelope(source="/x", data=registered(), subject="h")))
    document["type"] = "household.teleported"

    with pytest.raises(UnknownEventType):
        decode(orjson.dumps(document))


@pytest.mark.parametrize(
    ("change", "field"),
    [({"size": 0}, "size"), ({"size": "seven"}, "size"), ({"planet": "Mars"}, "planet")],
)
def test_event_data_breaking_its_contract_is_refused_naming_the_field(
    change: dict[str, object], field: str
) -> None:
    document = orjson.loads(encode(new_envelope(source="/x", data=registered(), subject="h")))
    document["data"].update(change)

    with pytest.raises(ValueError, match=field):
        decode(orjson.dumps(document))


def test_bytes_that_are_not_json_are_refused() -> None:
    with pytest.raises(ValueError, match="JSON"):
        decode(b"\x00\x01 not json")


def test_only_registered_event_models_can_be_wrapped() -> None:
    from pydantic import BaseModel

    class Stranger(BaseModel):
        x: int

    with pytest.raises(ValueError, match="not a registered event"):
        new_envelope(source="/x", data=Stranger(x=1), subject="s")
