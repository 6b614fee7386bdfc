"""Access tokens: short-lived JWTs signed with Ed25519 (EdDSA), each naming its key (`kid`).

The newest signing key signs; a rotated-out key keeps verifying (it stays in the JWKS) until
every token it signed has expired, so rotating keys logs nobody out.
"""

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity.models import SigningKey
from services.common import audit
from services.common.auth import KeyFetch
from services.common.db import Database
from services.common.errors import DATABASE_ERRORS
from services.common.ids import new_id
from services.common.regions import region_prefix
from services.common.sensitive import SensitiveData

ALGORITHM = "EdDSA"
ISSUER = "zhucun-gateway"
AUDIENCE = "zhucun"


def _new_key(vault: SensitiveData, signs_from: datetime) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    kid = f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
    jwk = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    raw = private.private_bytes_raw().hex()
    return SigningKey(
        kid=kid,
        private_key_encrypted=vault.encrypt(raw),
        public_jwk={**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"},
        created_at=datetime.now(UTC),
        signs_from=signs_from,
    )


async def current_key(session: AsyncSession, vault: SensitiveData) -> tuple[str, Ed25519PrivateKey]:
    """The key that signs now; the first call on an empty database makes one."""
    now = datetime.now(UTC)
    key = (
        await session.execute(
            select(SigningKey)
            .where(
                SigningKey.signs_from <= now,  # type: ignore[operator]
                SigningKey.retired_at.is_(None) | (SigningKey.retired_at > now),  # type: ignore[union-attr,operator]
            )
            .order_by(SigningKey.signs_from.desc())  # type: ignore[attr-defined]
            .limit(1)
        )
    ).scalar_one_or_none()
    if key is None:
        key = _new_key(vault, signs_from=now)
        session.add(key)
        await session.flush()
    private = Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex(vault.decrypt(key.private_key_encrypted))
    )
    return key.kid, private


async def rotate(session: AsyncSession, vault: SensitiveData, *, ahead: timedelta) -> SigningKey:
    """Make a new signing key, published at once and signing `ahead` from now, when the others
    retire (they still verify until their tokens age out). Published before it signs, every
    verifier finds it on its first look for its key id: no new token is refused meanwhile.
    Audited: who rotated (the request's caller) and the new key's id."""
    switch = datetime.now(UTC) + ahead
    for old in (
        await session.execute(select(SigningKey).where(SigningKey.retired_at.is_(None)))  # type: ignore[union-attr]
    ).scalars():
        old.retired_at = switch
    key = _new_key(vault, signs_from=switch)
    session.add(key)
    await session.flush()
    await audit.record(session, action="signing_key.rotated", target=key.kid)
    return key


async def published_keys(session: AsyncSession, token_ttl: timedelta) -> dict[str, Any]:
    """The JWKS: every key that signs now or signed a token that may not have expired yet."""
    since = datetime.now(UTC) - token_ttl
    keys = (
        await session.execute(
            select(SigningKey).where(
                SigningKey.retired_at.is_(None) | (SigningKey.retired_at > since)  # type: ignore[union-attr,operator]
            )
        )
    ).scalars()
    return {"keys": [key.public_jwk for key in keys]}


class PublishedKeys:
    """The JWKS as its route serves it, read from the database at most every `fresh_for`
    seconds: the route is open to anyone and not rate-limited (the services fetch it)."""

    def __init__(self, db: Database, token_ttl: timedelta, *, fresh_for: float = 1.0) -> None:
        self.db = db
        self.token_ttl = token_ttl
        self.fresh_for = fresh_for
        self._document: dict[str, Any] = {}
        self._read_at = -fresh_for

    async def document(self) -> dict[str, Any]:
        if time.monotonic() - self._read_at > self.fresh_for:
            async with self.db.transaction() as session:
                self._document = await published_keys(session, self.token_ttl)
            self._read_at = time.monotonic()
        return self._document


def own_keys(db: Database, token_ttl: timedelta, *, also: KeyFetch | None = None) -> KeyFetch:
    """The gateway's keys read from its database, so it verifies tokens without calling itself
    over HTTP; `also`: another issuer's keys it trusts as well (a test's issuer)."""

    async def fetch() -> dict[str, Any] | None:
        try:
            async with db.transaction() as session:
                document = await published_keys(session, token_ttl)
        except DATABASE_ERRORS:
            return None
        other = await also() if also is not None else None
        return {"keys": document["keys"] + (other or {}).get("keys", [])}

    return fetch


def sign(
    kid: str,
    private: Ed25519PrivateKey,
    *,
    subject: UUID,
    roles: list[str],
    region_code: str,
    ttl: timedelta,
    **extra: Any,
) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(subject),
        "roles": roles,
        "scope": region_prefix(region_code),
        "iat": now,
        "exp": now + ttl,
        "jti": str(new_id()),
        **extra,
    }
    return jwt.encode(claims, private, algorithm=ALGORITHM, headers={"kid": kid})
