"""FastAPI dependencies for bearer tokens and roles."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from shared.auth import Principal, TokenStore
from shared.http.errors import ApiError


def authenticate(request: Request) -> Principal:
    """The caller behind `Authorization: Bearer <token>`, or a 401."""
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(401, "unauthenticated", "missing Authorization: Bearer <token> header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthenticated", "the Authorization header must be 'Bearer <token>'")
    store: TokenStore = request.app.state.tokens
    principal = store.lookup(token.strip())
    if principal is None:
        raise ApiError(401, "unauthenticated", "unknown or revoked token")
    request.state.principal = principal
    return principal


def require(*kinds: str) -> Callable[[Request], Principal]:
    """A dependency admitting callers whose role kind is one of `kinds` (`provider` covers provider:<x>)."""

    def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if principal.kind not in kinds:
            raise ApiError(
                403,
                "forbidden",
                f"role {principal.role!r} may not do this",
                {"allowed_roles": list(kinds)},
            )
        return principal

    dependency.__name__ = "require_" + "_or_".join(kinds)
    return dependency
