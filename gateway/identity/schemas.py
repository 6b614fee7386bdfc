from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.common.permissions import Permission, Role
from services.common.sensitive import normalize_phone

Login = Annotated[str, Field(pattern=r"^[a-z0-9_.-]{3,64}$", description="登录名")]
RegionCode = Annotated[str, Field(pattern=r"^\d{12}$", description="12 位统计用区划代码")]
MIN_PASSWORD = 10


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: Login
    display_name: Annotated[str, Field(min_length=1, max_length=64)]
    phone: str | None = Field(default=None, description="手机号，加密存储")
    region_code: RegionCode
    roles: Annotated[list[Role], Field(min_length=1)]
    password: Annotated[str, Field(min_length=MIN_PASSWORD, max_length=256)]

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalize_phone(value)

    @model_validator(mode="after")
    def _password_policy(self) -> "UserCreate":
        password = self.password.lower()
        if self.login.lower() in password:
            raise ValueError("password must not contain the login name")
        if len(set(password)) < 4:
            raise ValueError("password is too simple")
        return self


class TokenResponse(BaseModel):
    """An OAuth2 token response (RFC 6749 5.1)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, Field(min_length=20, max_length=200)]


class CallerPublic(BaseModel):
    user_id: UUID
    roles: list[str]
    scope: str = Field(description="the division-code prefix the caller may see")


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=64, description="用途，如 防返贫监测系统")]
    region_code: RegionCode
    permissions: list[Permission] | None = Field(
        default=None,
        min_length=1,
        description="some of the integration role's permissions; all of them if not given",
    )


class ApiKeyPublic(BaseModel):
    """An API key as admins see it: never its secret, nor the secret's digest."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    prefix: str = Field(description="the secret's first characters, to tell keys apart")
    region_code: str
    permissions: list[str]
    created_by: UUID
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    secret: str = Field(description="shown this once: send it as X-API-Key")


class SigningKeyPublic(BaseModel):
    kid: str = Field(description="the id of the key that signs from now on")
