"""Event contracts: the CloudEvents envelope and the one catalogue of topics and event types."""

from shared.events.catalogue import CATALOGUE, EventSpec, Topic, spec_for, topic_name
from shared.events.envelope import Envelope, decode, encode, new_envelope

__all__ = [
    "CATALOGUE",
    "Envelope",
    "EventSpec",
    "Topic",
    "decode",
    "encode",
    "new_envelope",
    "spec_for",
    "topic_name",
]
