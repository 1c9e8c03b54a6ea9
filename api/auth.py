"""API keys (stored as SHA-256 hashes), principals and the per-key rate limit.

A key is ``cz_<key id>_<secret>``: the id lets `cadenza keys revoke` name a key without the secret,
and only ``sha256(key)`` is stored. The secret has 256 bits, so a plain (unsalted) hash is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db_models import ApiKey
from api.errors import AuthError, Forbidden, InputError, NotFound, RateLimited

Role = Literal["student", "admin"]
ROLES: tuple[Role, ...] = ("student", "admin")
LOCAL_PRINCIPAL_ID = "local"


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this needs an admin key")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(session: Session, *, role: str, name: str | None = None) -> tuple[ApiKey, str]:
    """Store a new key; returns the row and the only copy of the plain key."""
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    key_id = secrets.token_hex(6)
    plain = f"cz_{key_id}_{secrets.token_urlsafe(32)}"
    row = ApiKey(id=key_id, key_hash=hash_key(plain), role=role, name=name)
    session.add(row)
    session.flush()
    return row, plain


def revoke_key(session: Session, key_id: str) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key with id {key_id!r}")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def authenticate(session: Session, authorization: str | None) -> Principal:
    """The principal for an ``Authorization: Bearer <key>`` header, or AuthError (401)."""
    if not authorization:
        raise AuthError("missing API key: send 'Authorization: Bearer <key>'")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("malformed Authorization header: expected 'Bearer <key>'")
    digest = hash_key(token)
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    # compare_digest: the lookup is by hash already; this keeps the final check constant-time.
    if row is None or not hmac.compare_digest(row.key_hash, digest) or row.revoked_at is not None:
        raise AuthError("invalid or revoked API key")
    return Principal(key_id=row.id, role=row.role)  # type: ignore[arg-type]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RateLimiter:
    """Sliding one-minute window per key, in process memory (each API replica limits on its own)."""

    def __init__(self, per_minute: int, *, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key_id, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.per_minute:
                retry_after = max(1, math.ceil(hits[0] + self.window_s - now))
                raise RateLimited(
                    f"rate limit of {self.per_minute} requests per minute reached",
                    retry_after_s=retry_after,
                )
            hits.append(now)
