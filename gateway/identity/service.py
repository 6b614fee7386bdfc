"""Signing in: passwords (argon2), lockout, token pairs, refresh rotation, logout; and the API
keys integrations use instead."""

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity import tokens
from gateway.identity.models import ApiKey, LoginFailure, RefreshToken, UserAccount
from gateway.identity.schemas import ApiKeyCreate, TokenResponse, UserCreate
from services.common import audit
from services.common.auth import PERMISSIONS_CLAIM, Caller, check_writable, scoped
from services.common.errors import Conflict, Invalid, NotFound, Unauthorized
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate
from services.common.permissions import ROLE_PERMISSIONS, Role
from services.common.sensitive import SensitiveData

HASHER = PasswordHasher()
# Verified against when the login is unknown, so a wrong login costs as long as a wrong password.
_DECOY = HASHER.hash("decoy-password-for-unknown-logins")


@dataclass(frozen=True)
class Policy:
    """How long tokens live and when an account locks (settings, with the county's defaults)."""

    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=14)
    lockout_failures: int = 5
    lockout_window: timedelta = timedelta(minutes=15)
    lockout_for: timedelta = timedelta(minutes=15)


async def create_user(session: AsyncSession, data: UserCreate, vault: SensitiveData) -> UserAccount:
    if (
        await session.execute(select(UserAccount.id).where(UserAccount.login == data.login))
    ).first():
        raise Conflict("登录名已被使用", code="login_taken")
    now = datetime.now(UTC)
    user = UserAccount(
        id=new_id(),
        login=data.login,
        display_name=data.display_name,
        phone_encrypted=vault.encrypt(data.phone) if data.phone else None,
        phone_hash=vault.hash(data.phone) if data.phone else None,
        region_code=data.region_code,
        roles=[str(role) for role in data.roles],
        password_hash=await asyncio.to_thread(HASHER.hash, data.password),
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await session.flush()
    return user


def _refused(code: str = "invalid_credentials", **headers: str) -> Unauthorized:
    # keep_changes: the failure, the lock and their audit entries outlive the refusal.
    return Unauthorized("登录名或密码错误", code=code, headers=headers or None, keep_changes=True)


async def sign_in(
    session: AsyncSession, login: str, password: str, policy: Policy, client: str | None
) -> UserAccount:
    """The user these credentials name, or 401; too many failures lock the account."""
    user = (
        await session.execute(
            select(UserAccount).where(UserAccount.login == login).with_for_update()
        )
    ).scalar_one_or_none()
    now = datetime.now(UTC)
    if user is None or not user.active:
        await asyncio.to_thread(_verify, _DECOY, password)
        await audit.record(session, action="auth.sign_in_failed", actor=login, source=client)
        raise _refused()
    if user.locked_until is not None and user.locked_until > now:
        retry = int((user.locked_until - now).total_seconds()) + 1
        await audit.record(session, action="auth.sign_in_locked", actor=login, source=client)
        raise _refused("account_locked", **{"Retry-After": str(retry)})
    if not await asyncio.to_thread(_verify, user.password_hash, password):
        session.add(LoginFailure(id=new_id(), user_id=user.id, at=now))
        await session.flush()
        recent = (
            await session.execute(
                select(func.count())
                .select_from(LoginFailure)
                .where(
                    LoginFailure.user_id == user.id, LoginFailure.at > now - policy.lockout_window
                )
            )
        ).scalar_one()
        await audit.record(session, action="auth.sign_in_failed", actor=login, source=client)
        if recent >= policy.lockout_failures:
            user.locked_until = now + policy.lockout_for
            await audit.record(session, action="auth.account_locked", actor=login, source=client)
        raise _refused()
    await audit.record(
        session, action="auth.signed_in", actor=login, user_id=user.id, source=client
    )
    return user


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except VerificationError:
        return False


def _digest(token: str) -> str:
    # SHA-256, not argon2: refresh tokens and API key secrets are 256 random bits, with no
    # dictionary to slow an attacker down on, and they are looked up by this digest.
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(
    session: AsyncSession,
    user: UserAccount,
    vault: SensitiveData,
    policy: Policy,
    family_id: UUID | None = None,
) -> TokenResponse:
    """An access token and a refresh token, the latter in a new family or `family_id`'s."""
    kid, key = await tokens.current_key(session, vault)
    access = tokens.sign(
        kid,
        key,
        subject=user.id,
        roles=user.roles,
        region_code=user.region_code,
        ttl=policy.access_ttl,
    )
    refresh = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(
        RefreshToken(
            id=new_id(),
            family_id=family_id or new_id(),
            user_id=user.id,
            token_hash=_digest(refresh),
            expires_at=now + policy.refresh_ttl,
            created_at=now,
        )
    )
    await session.flush()
    return TokenResponse(
        access_token=access,
        expires_in=int(policy.access_ttl.total_seconds()),
        refresh_token=refresh,
    )


async def refresh(
    session: AsyncSession, token: str, vault: SensitiveData, policy: Policy
) -> TokenResponse | None:
    """A new pair for a refresh token, used once. A token used twice means it was stolen:
    its whole family is revoked, and None (401) is the answer, committed as it is."""
    stored = (
        await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == _digest(token)).with_for_update()
        )
    ).scalar_one_or_none()
    now = datetime.now(UTC)
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        return None
    if stored.used_at is not None:
        await _revoke_family(session, stored.family_id, now)
        await audit.record(
            session, action="auth.refresh_reused", user_id=stored.user_id, target=stored.family_id
        )
        return None
    user = await session.get(UserAccount, stored.user_id)
    if user is None or not user.active:
        return None
    stored.used_at = now
    return await issue(session, user, vault, policy, family_id=stored.family_id)


async def sign_out(session: AsyncSession, token: str) -> None:
    """Revoke the sign-in the refresh token belongs to (its whole family)."""
    stored = (
        await session.execute(select(RefreshToken).where(RefreshToken.token_hash == _digest(token)))
    ).scalar_one_or_none()
    if stored is None:
        return
    await _revoke_family(session, stored.family_id, datetime.now(UTC))
    await audit.record(session, action="auth.signed_out", user_id=stored.user_id)


async def _revoke_family(session: AsyncSession, family_id: UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=now)
    )


# -- API keys (接口密钥) for integrations --------------------------------------------------------

INTEGRATION_PERMISSIONS = ROLE_PERMISSIONS[Role.INTEGRATION]


async def create_api_key(
    session: AsyncSession, data: ApiKeyCreate, caller: Caller, client: str | None
) -> tuple[ApiKey, str]:
    """A new key for a region in the caller's scope, and its secret (shown this once)."""
    check_writable(caller, data.region_code)
    permissions = INTEGRATION_PERMISSIONS if data.permissions is None else set(data.permissions)
    beyond = sorted(permissions - INTEGRATION_PERMISSIONS)
    if beyond:
        raise Invalid(
            "接口密钥只能授予集成角色的权限",
            code="permission_outside_role",
            errors=[
                {"field": "permissions", "message": f"not an integration permission: {p}"}
                for p in beyond
            ],
        )
    key = ApiKey(
        id=new_id(),
        name=data.name,
        region_code=data.region_code,
        permissions=sorted(str(p) for p in permissions),
        secret_hash="",
        created_by=caller.user_id,
        created_at=datetime.now(UTC),
    )
    secret = f"{key.prefix}_{secrets.token_urlsafe(32)}"
    key.secret_hash = _digest(secret)
    session.add(key)
    await session.flush()
    detail = {"name": key.name, "permissions": key.permissions}
    await _audit_key(session, "api_key.created", key, caller, client, detail)
    return key, secret


async def _audit_key(
    session: AsyncSession,
    action: str,
    key: ApiKey,
    caller: Caller,
    client: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        session,
        action=action,
        user_id=caller.user_id,
        source=client,
        target=key.id,
        region_code=key.region_code,
        detail=detail,
    )


async def list_api_keys(
    session: AsyncSession, caller: Caller, page: PageParams
) -> tuple[list[ApiKey], str | None]:
    return await paginate(
        session,
        scoped(select(ApiKey), ApiKey.region_code, caller),
        page,
        id_column=ApiKey.id,  # type: ignore[arg-type]
        sortable={"created_at": ApiKey.created_at, "name": ApiKey.name},  # type: ignore[dict-item]
        default_sort="-created_at",
    )


async def get_api_key(session: AsyncSession, key_id: UUID, caller: Caller) -> ApiKey:
    key = (
        await session.execute(
            scoped(select(ApiKey).where(ApiKey.id == key_id), ApiKey.region_code, caller)
        )
    ).scalar_one_or_none()
    if key is None:
        raise NotFound("接口密钥不存在", code="api_key_not_found")
    return key


async def revoke_api_key(
    session: AsyncSession, key_id: UUID, caller: Caller, client: str | None
) -> ApiKey:
    """Revoke a key (the gateway refuses it within seconds); revoking it again changes nothing."""
    key = await get_api_key(session, key_id, caller)  # in scope, so the caller may write it
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await _audit_key(session, "api_key.revoked", key, caller, client)
    return key


async def api_key_by_secret(
    session: AsyncSession, secret: str, touch_every: timedelta
) -> ApiKey | None:
    """The live key a secret names, or None; records its use unless it did within `touch_every`."""
    key = (
        await session.execute(select(ApiKey).where(ApiKey.secret_hash == _digest(secret)))
    ).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if key.last_used_at is None or key.last_used_at < now - touch_every:
        key.last_used_at = now
    return key


async def api_key_token(
    session: AsyncSession, key: ApiKey, vault: SensitiveData, ttl: timedelta
) -> str:
    """The short-lived internal token a key is exchanged for: the integration role, the key's
    region, and its permissions in a claim that narrows the role (services/common/auth.py)."""
    kid, private = await tokens.current_key(session, vault)
    return tokens.sign(
        kid,
        private,
        subject=key.id,
        roles=[Role.INTEGRATION.value],
        region_code=key.region_code,
        ttl=ttl,
        **{PERMISSIONS_CLAIM: key.permissions},
    )
