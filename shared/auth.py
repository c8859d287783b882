"""Bearer-token authentication: tokens stored hashed in the identity schema, one role per token."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

IDENTITY_SCHEMA = "identity"
IDENTITY_MIGRATIONS = Path(__file__).parent / "identity_migrations"

PLAIN_ROLES = ("operator", "approver", "auditor", "admin")
_ROLE = re.compile(
    r"^(operator|approver|auditor|admin|provider:[a-z0-9][a-z0-9_-]{0,39}|vendor:[A-Za-z0-9_-]{1,40})$"
)


class InvalidRole(ValueError):
    """A role outside operator, approver, auditor, admin, provider:<name>, vendor:<id>."""


def check_role(role: str) -> str:
    if not _ROLE.match(role):
        raise InvalidRole(
            f"invalid role {role!r}: use operator, approver, auditor, admin, provider:<name> or vendor:<id>"
        )
    return role


def hash_token(token: str) -> str:
    """Tokens are 256-bit random strings, so one SHA-256 is enough (no password stretching needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a named user (or provider, vendor) acting in one role."""

    token_id: uuid.UUID
    name: str
    role: str

    @property
    def kind(self) -> str:
        """`operator`, …, or `provider` / `vendor` for the parameterised roles."""
        return self.role.split(":", 1)[0]

    @property
    def qualifier(self) -> str | None:
        """The provider name of `provider:<name>`, the vendor id of `vendor:<id>`."""
        return self.role.split(":", 1)[1] if ":" in self.role else None


class TokenStore:
    """Creates, looks up and revokes tokens. Look-ups are cached for a few seconds (revocation delay)."""

    def __init__(self, engine: Engine, *, cache_seconds: float = 5.0) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def create(self, *, name: str, role: str) -> str:
        """Mint a token and store its hash; the plain token is returned once and never stored."""
        check_role(role)
        if not name.strip():
            raise ValueError("a token needs the name of who holds it")
        token = "filet_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    f'INSERT INTO "{IDENTITY_SCHEMA}".token (id, name, role, token_hash) '
                    "VALUES (:id, :name, :role, :hash)"
                ),
                {"id": uuid.uuid4(), "name": name.strip(), "role": role, "hash": hash_token(token)},
            )
        return token

    def lookup(self, token: str) -> Principal | None:
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    f'SELECT id, name, role FROM "{IDENTITY_SCHEMA}".token '
                    "WHERE token_hash = :hash AND revoked_at IS NULL"
                ),
                {"hash": digest},
            ).first()
        principal = Principal(token_id=row.id, name=row.name, role=row.role) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now, principal)
        return principal

    def revoke(self, token: str) -> bool:
        with self.engine.begin() as conn:
            revoked = conn.execute(
                text(
                    f'UPDATE "{IDENTITY_SCHEMA}".token SET revoked_at = now() '
                    "WHERE token_hash = :hash AND revoked_at IS NULL"
                ),
                {"hash": hash_token(token)},
            ).rowcount
        self._cache.pop(hash_token(token), None)
        return revoked > 0
