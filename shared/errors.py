"""Domain errors speak the domain; the HTTP edge maps each kind to one status (see shared.http.errors)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the domain refused something. Never retried; in a consumer, the event is parked."""

    code = "domain_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """The thing asked for does not exist (HTTP 404)."""

    code = "not_found"


class Conflict(DomainError):
    """The request conflicts with the current state, e.g. a forbidden transition (HTTP 409)."""

    code = "conflict"


class InvalidInput(DomainError):
    """The request is well-formed but its content breaks a rule (HTTP 422)."""

    code = "invalid_input"


class Forbidden(DomainError):
    """The caller is known but may not do this (HTTP 403), e.g. an approver approving their own cycle."""

    code = "forbidden"


class PayloadTooLarge(DomainError):
    """A file or body is bigger than the limit that applies to it (HTTP 413)."""

    code = "payload_too_large"
