from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.common.permissions import Permission, Role
from services.common.sensitive import normalize_phone

# A letter first: a login is never a phone number (which would then travel as a login, in
# clear, through the audit log and the identity events).
Login = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]{2,63}$", description="登录名")]
RegionCode = Annotated[str, Field(pattern=r"^\d{12}$", description="12 位统计用区划代码")]
DisplayName = Annotated[str, Field(min_length=1, max_length=64, description="姓名")]
Roles = Annotated[list[Role], Field(min_length=1, description="角色")]
MIN_PASSWORD = 10
Password = Annotated[str, Field(min_length=MIN_PASSWORD, max_length=256)]
Phone = Annotated[str, AfterValidator(normalize_phone), Field(description="手机号，加密存储")]


def check_password(password: str, login: str) -> None:
    """The password policy beyond its length (密码策略); raises ValueError."""
    lowered = password.lower()
    if login.lower() in lowered:
        raise ValueError("password must not contain the login name")
    if len(set(lowered)) < 4:
        raise ValueError("password is too simple")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: Login
    display_name: DisplayName
    phone: Phone | None = None
    region_code: RegionCode
    roles: Roles
    password: Password

    @model_validator(mode="after")
    def _password_policy(self) -> "UserCreate":
        check_password(self.password, self.login)
        return self


class UserUpdate(BaseModel):
    """The fields a PATCH may change; those left out stay as they are (a null phone removes it)."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    phone: Phone | None = None
    region_code: RegionCode | None = None
    roles: Roles | None = None

    @model_validator(mode="after")
    def _only_phone_nullable(self) -> "UserUpdate":
        for name in ("display_name", "region_code", "roles"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class PasswordSet(BaseModel):
    """A new password an administrator sets for a user."""

    model_config = ConfigDict(extra="forbid")

    password: Password


class PasswordChange(BaseModel):
    """A signed-in user's own new password, with the current one."""

    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: Password


class UserPublic(BaseModel):
    """用户, as most readers see them: the phone masked unless their role needs it in clear."""

    id: UUID
    login: str
    display_name: str
    region_code: str
    roles: list[str]
    active: bool
    phone: str | None = Field(description="脱敏手机号（有权限者为明文）")


class UserAdminPublic(UserPublic):
    """用户, as an administrator (a holder of gateway.user.manage) sees them."""

    created_at: datetime
    updated_at: datetime
    locked_until: datetime | None


class TokenResponse(BaseModel):
    """An OAuth2 token response (RFC 6749 5.1)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, Field(min_length=20, max_length=200)]


class Jwks(BaseModel):
    """A JSON Web Key Set (RFC 7517 5): the public keys that verify access tokens."""

    keys: list[dict[str, Any]]


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
    model_config = ConfigDict(from_attributes=True)

    kid: str = Field(description="the new key's id")
    signs_from: datetime = Field(description="published now, it signs from then on")
