"""The HTTP edge every service shares: app factory, JSON errors, auth dependencies, idempotency keys."""
