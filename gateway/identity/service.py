"""Signing in: passwords (argon2), lockout, token pairs, refresh rotation, logout."""

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity import tokens
from gateway.identity.models import LoginFailure, RefreshToken, UserAccount
from gateway.identity.schemas import TokenResponse, UserCreate
from services.common import audit
from services.common.errors import Conflict, Unauthorized
from services.common.ids import new_id
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


async def sign_in(session: AsyncSession, login: str, password: str, policy: Policy) -> UserAccount:
    """The user these credentials name, or 401; too many failures lock the account. Each step
    is audited (from where: the request's client address), with the user's region once the
    login names a user, so the county admin sees it."""
    user = (
        await session.execute(
            select(UserAccount).where(UserAccount.login == login).with_for_update()
        )
    ).scalar_one_or_none()
    now = datetime.now(UTC)
    if user is None or not user.active:
        await asyncio.to_thread(_verify, _DECOY, password)
        await audit.record(session, action="auth.sign_in_failed", actor=login)
        raise _refused()
    user_id, region_code = user.id, user.region_code  # every entry below names them

    async def audited(action: str) -> None:
        await audit.record(
            session, action=action, actor=login, user_id=user_id, region_code=region_code
        )

    if user.locked_until is not None and user.locked_until > now:
        retry = int((user.locked_until - now).total_seconds()) + 1
        await audited("auth.sign_in_locked")
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
        await audited("auth.sign_in_failed")
        if recent >= policy.lockout_failures:
            user.locked_until = now + policy.lockout_for
            await audited("auth.account_locked")
        raise _refused()
    await audited("auth.signed_in")
    return user


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except VerificationError:
        return False


def _digest(token: str) -> str:
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
    user = await session.get(UserAccount, stored.user_id)
    if stored.used_at is not None:
        await _revoke_family(session, stored.family_id, now)
        await audit.record(
            session,
            action="auth.refresh_reused",
            user_id=stored.user_id,
            target=stored.family_id,
            region_code=user.region_code if user else None,
        )
        return None
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
    user = await session.get(UserAccount, stored.user_id)
    await audit.record(
        session,
        action="auth.signed_out",
        user_id=stored.user_id,
        region_code=user.region_code if user else None,
    )


async def _revoke_family(session: AsyncSession, family_id: UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))  # type: ignore[union-attr]
        .values(revoked_at=now)
    )
