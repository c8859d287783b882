"""The CloudEvents 1.0 envelope (structured JSON mode) every filet event travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal, Union
from uuid import UUID, uuid4

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

CONTENT_TYPE = "application/cloudevents+json"


class Envelope(BaseModel):
    """CloudEvents attributes plus the event's data, already validated against its registered model."""

    model_config = ConfigDict(frozen=True)

    specversion: str = "1.0"
    id: UUID
    source: str
    type: str
    time: AwareDatetime
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: BaseModel

    @property
    def key(self) -> str:
        """The Kafka key: the aggregate the event is about (its subject)."""
        return self.subject or str(self.id)


def new_envelope(*, source: str, data: BaseModel, subject: str, event_id: UUID | None = None) -> Envelope:
    """Wrap an event model; its type is looked up in the catalogue, so only registered events can leave."""
    from shared.events.catalogue import type_of

    return Envelope(
        id=event_id or uuid4(),
        source=source,
        type=type_of(data),
        time=datetime.now(UTC),
        subject=subject,
        data=data,
    )


def encode(envelope: Envelope) -> bytes:
    """Serialise to the bytes stored in the outbox and sent to Kafka."""
    document: dict[str, Any] = {
        "specversion": envelope.specversion,
        "id": str(envelope.id),
        "source": envelope.source,
        "type": envelope.type,
        "time": envelope.time.isoformat(),
        "subject": envelope.subject,
        "datacontenttype": envelope.datacontenttype,
        # Serialised by pydantic straight to JSON (no Python objects in between), embedded as it is.
        "data": orjson.Fragment(envelope.data.model_dump_json()),
    }
    return orjson.dumps(document)


class UnknownEventType(ValueError):
    """The envelope names a type the catalogue does not know."""


class _Wire(BaseModel):
    """The envelope as it travels; one subclass per event type pins `type` and the model of `data`."""

    specversion: Literal["1.0"]
    id: UUID
    source: str
    time: AwareDatetime
    subject: str | None = None
    datacontenttype: str = "application/json"


@cache
def _wire_adapter() -> TypeAdapter[Any]:
    """Validates bytes straight into the right envelope model, choosing it by the `type` attribute."""
    from shared.events.catalogue import CATALOGUE

    wires = tuple(
        create_model(
            f"Wire_{spec.event_type.replace('.', '_')}",
            __base__=_Wire,
            type=(Literal[spec.event_type], ...),  # type: ignore[arg-type]
            data=(spec.model, ...),
        )
        for spec in CATALOGUE
    )
    return TypeAdapter(Annotated[Union[wires], Field(discriminator="type")])  # type: ignore[arg-type]  # noqa: UP007 - a runtime tuple


def decode(raw: bytes) -> Envelope:
    """Parse and validate an envelope and its data in one pass. Raises ValueError when malformed."""
    try:
        wire = _wire_adapter().validate_json(raw)
    except ValidationError as error:
        if any(item["type"] in ("union_tag_invalid", "union_tag_not_found") for item in error.errors()):
            raise UnknownEventType(f"unknown or missing event type: {error.errors()[0]['msg']}") from error
        raise
    return Envelope.model_construct(
        specversion=wire.specversion,
        id=wire.id,
        source=wire.source,
        type=wire.type,
        time=wire.time,
        subject=wire.subject,
        datacontenttype=wire.datacontenttype,
        data=wire.data,
    )
