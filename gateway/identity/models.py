from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, Index, LargeBinary, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from services.common.rekey import EncryptedColumn


def _at(nullable: bool = False) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable)


class UserAccount(SQLModel, table=True):
    """用户: a person (or, with the integration role, a machine) who signs in."""

    __tablename__ = "user_account"

    id: UUID = Field(primary_key=True)
    login: str = Field(unique=True, max_length=64)
    display_name: str
    phone_encrypted: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    phone_hash: str | None = Field(default=None, index=True)
    region_code: str = Field(max_length=12, index=True)
    roles: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    password_hash: str
    active: bool = True
    locked_until: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    created_at: datetime = Field(sa_column=_at())
    updated_at: datetime = Field(sa_column=_at())


class LoginFailure(SQLModel, table=True):
    """A failed sign-in, kept to lock an account after too many in a window."""

    __tablename__ = "login_failure"

    id: UUID = Field(primary_key=True)
    user_id: UUID = Field(index=True)
    at: datetime = Field(sa_column=_at())


class RefreshToken(SQLModel, table=True):
    """One refresh token of a sign-in's family; used once, then replaced (rotation)."""

    __tablename__ = "refresh_token"

    id: UUID = Field(primary_key=True)
    family_id: UUID = Field(index=True)
    user_id: UUID = Field(index=True)
    token_hash: str = Field(unique=True)
    expires_at: datetime = Field(sa_column=_at())
    used_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    created_at: datetime = Field(sa_column=_at())

    # The gateway rereads the recently ended sign-ins every few seconds (identity/sessions.py).
    __table_args__ = (Index("ix_refresh_token_revoked_at", "revoked_at"),)


class SigningKey(SQLModel, table=True):
    """An Ed25519 key that signs access tokens from `signs_from` until it retires; retired ones
    still verify until their tokens expire."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True)
    private_key_encrypted: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = Field(sa_column=_at())
    signs_from: datetime = Field(sa_column=_at())  # published before: see tokens.rotate
    retired_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))


class ApiKey(SQLModel, table=True):
    """接口密钥: an integration's credential (a poverty-monitoring system), scoped to a region
    and narrowed to some of the integration role's permissions; stored as a digest only."""

    __tablename__ = "api_key"

    id: UUID = Field(primary_key=True)
    name: str = Field(max_length=64)
    region_code: str = Field(max_length=12, index=True)
    permissions: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    secret_hash: str = Field(unique=True)
    created_by: UUID
    created_at: datetime = Field(sa_column=_at())
    revoked_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    last_used_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))

    @property
    def prefix(self) -> str:
        """How its secret begins (`zk_<8 hex of the id>`): tells keys apart in lists and logs.
        The random end of the id, since a UUIDv7 begins with its time."""
        return f"zk_{self.id.hex[-8:]}"


# What `zhucun rotate-data-keys` re-encrypts in the gateway's database under the newest data key.
ENCRYPTED_COLUMNS = (
    EncryptedColumn("user_account", "phone_encrypted"),
    EncryptedColumn("signing_key", "private_key_encrypted", id_column="kid"),
)
