"""Signing in: passwords (argon2), lockout, token pairs, refresh rotation, logout; managing
users within an administrator's scope, every change audited and announced; and the API keys
integrations use instead."""

import asyncio
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity import events, tokens
from gateway.identity.models import ApiKey, LoginFailure, RefreshToken, UserAccount
from gateway.identity.schemas import (
    ApiKeyCreate,
    PasswordChange,
    TokenResponse,
    UserAdminPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
    check_password,
)
from services.common import audit
from services.common.auth import (
    PERMISSIONS_CLAIM,
    Caller,
    check_writable,
    one_scoped,
    scoped,
    view_for,
)
from services.common.contracts.identity import (
    UserCreated,
    UserDeactivated,
    UserReactivated,
    UserUpdated,
)
from services.common.disclosure import PHONE, disclose
from services.common.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate
from services.common.permissions import ROLE_PERMISSIONS, Permission, Role, permissions_of
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
    # A rotated-in signing key is published this long before it signs (tokens.rotate).
    key_published_ahead: timedelta = timedelta(seconds=10)


async def create_user(
    session: AsyncSession, data: UserCreate, vault: SensitiveData, by: Caller | None = None
) -> UserAccount:
    """A new user, audited and announced (identity.user.created). `by` is the administrator,
    whose scope must hold the user's region and whose permissions the roles'; None is the
    system itself (the demo seed)."""
    if by is not None:
        check_writable(by, data.region_code)
        _check_grantable(by, data.roles)
    now = datetime.now(UTC)
    user = UserAccount(
        id=new_id(),
        login=data.login,
        display_name=data.display_name,
        region_code=data.region_code,
        roles=[str(role) for role in data.roles],
        password_hash=await asyncio.to_thread(HASHER.hash, data.password),
        created_at=now,
        updated_at=now,
    )
    _set_phone(user, data.phone, vault)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # the login's unique constraint, also when two creates race
        raise Conflict("登录名已被使用", code="login_taken") from None
    await _audit(session, "identity.user.created", user, by, _changes({}, _audited(user)))
    await events.announce(session, UserCreated, user, vault)
    return user


async def list_users(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    region_code: str | None,
    role: Role | None,
    active: bool | None,
    login: str | None,
    phone_hash: str | None,
) -> tuple[list[UserAccount], str | None]:
    """Users within the caller's scope: those outside it are not there for them. `phone_hash`
    finds a number exactly (`PHONE.search_hash`) without opening any."""
    statement = scoped(select(UserAccount), UserAccount.region_code, caller, within=region_code)
    if role is not None:
        statement = statement.where(UserAccount.roles.contains([str(role)]))  # type: ignore[attr-defined]
    if active is not None:
        statement = statement.where(UserAccount.active == active)
    if login is not None:
        statement = statement.where(UserAccount.login == login)
    if phone_hash is not None:
        statement = statement.where(UserAccount.phone_hash == phone_hash)
    return await paginate(
        session,
        statement,
        page,
        id_column=UserAccount.id,  # type: ignore[arg-type]
        sortable={
            "login": UserAccount.login,  # type: ignore[dict-item]
            "display_name": UserAccount.display_name,  # type: ignore[dict-item]
            "created_at": UserAccount.created_at,  # type: ignore[dict-item]
        },
        default_sort="login",
    )


async def get_user(
    session: AsyncSession, user_id: UUID, caller: Caller, *, for_update: bool = False
) -> UserAccount:
    """The user, if within the caller's scope; 404 otherwise, as for one that does not exist."""
    missing = NotFound("用户不存在", code="user_not_found")
    return await one_scoped(session, UserAccount, user_id, caller, missing, for_update=for_update)


async def _managed(session: AsyncSession, user_id: UUID, by: Caller) -> UserAccount:
    """The user an administrator is about to change: within their scope (else 404), and
    holding no role that could do what the administrator cannot (else 403)."""
    user = await get_user(session, user_id, by, for_update=True)
    _check_grantable(by, user.roles)
    return user


async def update_user(
    session: AsyncSession, user_id: UUID, data: UserUpdate, vault: SensitiveData, by: Caller
) -> UserAccount:
    """Change what the PATCH names; a new region must be within `by`'s scope too."""
    user = await _managed(session, user_id, by)
    given = data.model_dump(mode="json", exclude_unset=True)
    if "region_code" in given:
        check_writable(by, given["region_code"])
    if data.roles is not None:
        _check_grantable(by, data.roles)
    before = _audited(user)
    for name, value in given.items():
        if name == "phone":
            _set_phone(user, value, vault)
        else:
            setattr(user, name, value)
    changes = _changes(before, _audited(user))
    if changes.keys() & {"roles", "region_code"}:
        # Tokens name roles and scope: the user's sign-ins end, and the next holds the new ones.
        await _revoke(session, datetime.now(UTC), RefreshToken.user_id == user.id)
    if changes:
        user.updated_at = datetime.now(UTC)
        await _audit(session, "identity.user.updated", user, by, changes)
        await events.announce(session, UserUpdated, user, vault, changed=list(changes))
    return user


async def set_active(
    session: AsyncSession, user_id: UUID, active: bool, vault: SensitiveData, by: Caller
) -> UserAccount:
    """Deactivate (停用: no sign-in, every refresh token revoked) or reactivate a user."""
    user = await _managed(session, user_id, by)
    if not active and user.id == by.user_id:
        raise Conflict("不能停用自己的账号", code="cannot_deactivate_self")
    if user.active == active:
        return user
    now = datetime.now(UTC)
    user.active, user.updated_at = active, now
    if not active:
        await _revoke(session, now, RefreshToken.user_id == user.id)
    action, kind = ("reactivated", UserReactivated) if active else ("deactivated", UserDeactivated)
    changes = {"active": {"from": not active, "to": active}}
    await _audit(session, f"identity.user.{action}", user, by, changes)
    await events.announce(session, kind, user, vault)
    return user


async def unlock(session: AsyncSession, user_id: UUID, by: Caller) -> UserAccount:
    """Lift a lockout before it runs out, and forget the failures that led to it."""
    user = await _managed(session, user_id, by)
    changes = {"locked_until": {"from": _text(user.locked_until), "to": None}}
    user.locked_until = None
    await session.execute(delete(LoginFailure).where(LoginFailure.user_id == user.id))  # type: ignore[arg-type]
    await _audit(session, "identity.user.unlocked", user, by, changes)
    return user


async def set_password(session: AsyncSession, user_id: UUID, password: str, by: Caller) -> None:
    """A new password an administrator sets; the user's sign-ins end (refresh tokens revoked)."""
    user = await _managed(session, user_id, by)
    await _new_password(session, user, password, field="password")
    await _audit(session, "identity.user.password_set", user, by, {"password": "changed"})


async def change_own_password(
    session: AsyncSession, caller: Caller, data: PasswordChange, policy: Policy
) -> None:
    """The caller's own new password, given the current one (a wrong one counts towards a
    lock, as at sign-in); every sign-in of theirs ends."""
    user = (
        await session.execute(
            select(UserAccount).where(UserAccount.id == caller.user_id).with_for_update()
        )
    ).scalar_one_or_none()
    if user is None or not user.active:
        raise Unauthorized("账号不存在或已停用", code="account_inactive")
    _check_policy(data.new_password, user.login, field="new_password")
    try:
        await _check_password(session, user, data.current_password, policy)
    except Unauthorized as refused:  # still signed in: a 403, which a client takes for no sign-out
        code = refused.code if refused.code == "account_locked" else "wrong_current_password"
        raise Forbidden(
            "当前密码不正确", code=code, headers=refused.headers, keep_changes=True
        ) from None
    await _new_password(session, user, data.new_password, field="new_password")
    await _audit(session, "auth.password_changed", user, caller, {"password": "changed"})


def view_model(caller: Caller) -> type[UserPublic]:
    """What the caller is shown of a user: administrators see more of the account."""
    return view_for(caller, UserAdminPublic, UserPublic, needs=Permission.USER_MANAGE)


async def shown(
    session: AsyncSession, caller: Caller, vault: SensitiveData, users: Sequence[UserAccount]
) -> list[UserPublic]:
    """The users as the caller may see them (`view_model`); the phone clear (and the read
    audited) only for a role that needs it, masked otherwise."""
    model = view_model(caller)
    fields = [name for name in model.model_fields if name != "phone"]
    phones = await disclose(session, caller, vault, PHONE, users)
    return [
        model.model_validate({**{name: getattr(user, name) for name in fields}, "phone": phone})
        for user, phone in zip(users, phones, strict=True)
    ]


def _check_grantable(by: Caller, roles: Iterable[str]) -> None:
    """An administrator grants (or manages a holder of) no role that could do what they cannot."""
    if not permissions_of(roles) <= by.permissions:
        raise Forbidden("不能授予超出自身权限的角色", code="role_not_grantable")


def _set_phone(user: UserAccount, phone: str | None, vault: SensitiveData) -> None:
    phone_hash = None if phone is None else vault.hash(phone)
    if phone_hash != user.phone_hash:  # the same number again keeps its ciphertext
        user.phone_encrypted = None if phone is None else vault.encrypt(phone)
        user.phone_hash = phone_hash


def _audited(user: UserAccount) -> dict[str, Any]:
    """The fields whose changes the audit log names; the phone by its hash, never its number."""
    return {
        "login": user.login,
        "display_name": user.display_name,
        "region_code": user.region_code,
        "roles": list(user.roles),
        "phone": user.phone_hash,
    }


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed, old → new; for the phone only that it changed."""
    return {
        name: "changed" if name == "phone" else {"from": before.get(name), "to": value}
        for name, value in after.items()
        if before.get(name) != value
    }


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


async def _audit(
    session: AsyncSession,
    action: str,
    record: UserAccount | ApiKey,
    by: Caller | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """An administrator's act on a user or a key, named by the record and its region."""
    await audit.record(
        session,
        action=action,
        user_id=None if by is None else by.user_id,
        target=record.id,
        region_code=record.region_code,
        detail=detail,
    )


def _check_policy(password: str, login: str, *, field: str) -> None:
    try:
        check_password(password, login)
    except ValueError as exc:
        raise Invalid(
            "密码不符合要求", code="weak_password", errors=[{"field": field, "message": str(exc)}]
        ) from None


async def _new_password(
    session: AsyncSession, user: UserAccount, password: str, *, field: str
) -> None:
    _check_policy(password, user.login, field=field)
    now = datetime.now(UTC)
    user.password_hash = await asyncio.to_thread(HASHER.hash, password)
    user.updated_at = now
    await _revoke(session, now, RefreshToken.user_id == user.id)


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
    if user is None or not user.active:
        await asyncio.to_thread(_verify, _DECOY, password)
        # What was typed names nobody, and may be a phone number or a password typed into the
        # wrong field: it is not kept (the entry still says when and from where).
        await audit.record(session, action="auth.sign_in_failed")
        raise _refused()
    await _check_password(session, user, password, policy)
    await _sign_in_step(session, user, "auth.signed_in")
    return user


async def _sign_in_step(
    session: AsyncSession, user: UserAccount, action: str, *, target: UUID | None = None
) -> None:
    """A sign-in step's entry, naming the user and their region (the county admin sees it)."""
    await audit.record(
        session,
        action=action,
        actor=user.login,
        user_id=user.id,
        target=target,
        region_code=user.region_code,
    )


async def _check_password(
    session: AsyncSession, user: UserAccount, password: str, policy: Policy
) -> None:
    """401 unless the account is unlocked and `password` is its own; a failure counts
    towards a lock."""
    now = datetime.now(UTC)
    if user.locked_until is not None and user.locked_until > now:
        retry = int((user.locked_until - now).total_seconds()) + 1
        await _sign_in_step(session, user, "auth.sign_in_locked")
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
        await _sign_in_step(session, user, "auth.sign_in_failed")
        if recent >= policy.lockout_failures:
            user.locked_until = now + policy.lockout_for
            await _sign_in_step(session, user, "auth.account_locked")
        raise _refused()


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
    """An access token and a refresh token, the latter in a new family or `family_id`'s; the
    access token names the family (`sid`), so ending the sign-in ends it too."""
    family_id = family_id or new_id()
    kid, key = await tokens.current_key(session, vault)
    access = tokens.sign(
        kid,
        key,
        subject=user.id,
        roles=user.roles,
        region_code=user.region_code,
        ttl=policy.access_ttl,
        sid=str(family_id),
    )
    refresh = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(
        RefreshToken(
            id=new_id(),
            family_id=family_id,
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
    user = await session.get_one(UserAccount, stored.user_id)  # users are never deleted
    if stored.used_at is not None:
        await _revoke(session, now, RefreshToken.family_id == stored.family_id)
        await _sign_in_step(session, user, "auth.refresh_reused", target=stored.family_id)
        return None
    if not user.active:
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
    await _revoke(session, datetime.now(UTC), RefreshToken.family_id == stored.family_id)
    user = await session.get_one(UserAccount, stored.user_id)
    await _sign_in_step(session, user, "auth.signed_out")


async def _revoke(session: AsyncSession, now: datetime, *which: Any) -> None:
    """Revoke the refresh tokens `which` selects (a family, or all of a user's).

    Lock them first, then update in a statement of its own: a refresh holding one of them
    commits its successor meanwhile, and only a statement begun after that commit sees the
    successor (READ COMMITTED) and revokes it too, so no sign-in outlives its logout."""
    await session.execute(select(RefreshToken.id).where(*which).with_for_update())
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.revoked_at.is_(None), *which)  # type: ignore[union-attr]
        .values(revoked_at=now)
    )


# -- API keys (接口密钥) for integrations --------------------------------------------------------

INTEGRATION_PERMISSIONS = ROLE_PERMISSIONS[Role.INTEGRATION]


async def create_api_key(
    session: AsyncSession, data: ApiKeyCreate, caller: Caller
) -> tuple[ApiKey, str]:
    """A new key for a region in the caller's scope, and its secret (shown this once)."""
    check_writable(caller, data.region_code)
    permissions = INTEGRATION_PERMISSIONS if data.permissions is None else set(data.permissions)
    if not permissions <= caller.permissions:
        raise Forbidden("不能授予本人没有的权限", code="permission_not_grantable")
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
    await _audit(session, "api_key.created", key, caller, detail)
    return key, secret


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
    missing = NotFound("接口密钥不存在", code="api_key_not_found")
    return await one_scoped(session, ApiKey, key_id, caller, missing)


async def revoke_api_key(session: AsyncSession, key_id: UUID, caller: Caller) -> ApiKey:
    """Revoke a key (the gateway refuses it within seconds); revoking it again changes nothing."""
    key = await get_api_key(session, key_id, caller)  # in scope, so the caller may write it
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await _audit(session, "api_key.revoked", key, caller)
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
