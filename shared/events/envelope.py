"""The CloudEvents 1.0 envelope (structured JSON mode) every filet event travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict

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
        "data": envelope.data.model_dump(mode="json"),
    }
    return orjson.dumps(document)


class UnknownEventType(ValueError):
    """The envelope names a type the catalogue does not know."""


def decode(raw: bytes) -> Envelope:
    """Parse and validate an envelope and its data. Raises ValueError (pydantic's included) when malformed."""
    from shared.events.catalogue import spec_for

    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"event is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise ValueError("event is not a JSON object")
    if document.get("specversion") != "1.0":
        raise ValueError(f"unsupported CloudEvents specversion {document.get('specversion')!r}")
    spec = spec_for(str(document.get("type")))
    if spec is None:
        raise UnknownEventType(f"unknown event type {document.get('type')!r}")
    data = spec.model.model_validate(document.get("data"))
    return Envelope(
        id=document.get("id"),
        source=document.get("source"),
        type=spec.event_type,
        time=document.get("time"),
        subject=document.get("subject"),
        datacontenttype=document.get("datacontenttype", "application/json"),
        data=data,
    )
