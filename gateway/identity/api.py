from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from gateway.identity import service, tokens
from gateway.identity.models import UserAccount
from gateway.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    CallerPublic,
    Jwks,
    PasswordChange,
    PasswordSet,
    RefreshRequest,
    SigningKeyPublic,
    TokenResponse,
    UserAdminPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from services.common.auth import Caller, require
from services.common.db import Session
from services.common.disclosure import PHONE
from services.common.errors import Unauthorized
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission, Role
from services.common.sensitive import SensitiveData

router = APIRouter(prefix="/auth", tags=["auth"])
users = APIRouter(prefix="/identity/users", tags=["users"])


async def _vault(request: Request) -> SensitiveData:
    return request.app.state.vault


Vault = Annotated[SensitiveData, Depends(_vault)]
# Administrators (gateway.user.manage) are answered with the richer model.
UserView = UserAdminPublic | UserPublic


@router.post("/token", summary="登录 / Sign in with login and password (OAuth2 password form)")
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: Session, request: Request
) -> TokenResponse:
    state = request.app.state
    user = await service.sign_in(session, form.username, form.password, state.policy)
    return await service.issue(session, user, state.vault, state.policy)


@router.post("/refresh", summary="换发令牌 / A new token pair for a refresh token, used once")
async def refresh(body: RefreshRequest, session: Session, request: Request) -> TokenResponse:
    state = request.app.state
    pair = await service.refresh(session, body.refresh_token, state.vault, state.policy)
    if pair is None:  # a reused token's family stays revoked: keep_changes
        raise Unauthorized("刷新令牌无效或已使用", code="invalid_refresh_token", keep_changes=True)
    return pair


@router.post("/logout", status_code=204, summary="退出登录 / Revoke the sign-in of a refresh token")
async def logout(body: RefreshRequest, session: Session) -> Response:
    await service.sign_out(session, body.refresh_token)
    return Response(status_code=204)


@router.get("/me", summary="当前用户 / Who the token names: user id, roles, region scope")
async def me(caller: Caller = require(Permission.REGION_READ)) -> CallerPublic:
    return CallerPublic(user_id=caller.user_id, roles=list(caller.roles), scope=caller.scope)


@router.post(
    "/password",
    status_code=204,
    summary="修改密码 / Change one's own password (every sign-in ends)",
)
async def change_password(
    body: PasswordChange,
    session: Session,
    request: Request,
    caller: Caller = require(Permission.REGION_READ),
) -> Response:
    await service.change_own_password(session, caller, body, request.app.state.policy)
    return Response(status_code=204)


@router.get("/jwks", summary="公钥 / The keys that verify access tokens (JWKS)")
async def jwks(request: Request) -> Jwks:
    return Jwks.model_validate(await request.app.state.jwks.document())


async def _one(session: Session, caller: Caller, vault: SensitiveData, user: UserAccount) -> Any:
    [view] = await service.shown(session, caller, vault, [user])
    return view


@users.get("", summary="用户列表 / Users within the caller's region")
async def list_users(
    session: Session,
    vault: Vault,
    page: Annotated[PageParams, Depends(page_params)],
    region_code: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
    role: Role | None = None,
    active: bool | None = None,
    login: str | None = None,
    phone: Annotated[str | None, Query(description="手机号精确查找（按密钥哈希）")] = None,
    caller: Caller = require(Permission.USER_READ),
) -> Page[UserAdminPublic] | Page[UserPublic]:
    rows, cursor = await service.list_users(
        session,
        page,
        caller,
        region_code=region_code,
        role=role,
        active=active,
        login=login,
        phone_hash=None
        if phone is None
        else await PHONE.search_hash(session, caller, vault, phone),
    )
    items = await service.shown(session, caller, vault, rows)
    return Page[service.view_model(caller)](items=items, next_cursor=cursor)  # type: ignore[misc]


@users.get("/{user_id}", summary="用户详情 / One user")
async def get_user(
    user_id: UUID, session: Session, vault: Vault, caller: Caller = require(Permission.USER_READ)
) -> UserView:
    return await _one(session, caller, vault, await service.get_user(session, user_id, caller))


@users.post("", status_code=201, summary="创建用户 / Create a user in the caller's region")
async def create_user(
    body: UserCreate,
    session: Session,
    vault: Vault,
    response: Response,
    caller: Caller = require(Permission.USER_MANAGE),
) -> UserView:
    user = await service.create_user(session, body, vault, by=caller)
    response.headers["Location"] = f"/api/v1/identity/users/{user.id}"
    return await _one(session, caller, vault, user)


@users.patch("/{user_id}", summary="修改用户 / Change a user's name, phone, region or roles")
async def update_user(
    user_id: UUID,
    body: UserUpdate,
    session: Session,
    vault: Vault,
    caller: Caller = require(Permission.USER_MANAGE),
) -> UserView:
    user = await service.update_user(session, user_id, body, vault, caller)
    return await _one(session, caller, vault, user)


@users.post("/{user_id}/deactivate", summary="停用用户 / Deactivate: no sign-in, sign-ins ended")
async def deactivate_user(
    user_id: UUID, session: Session, vault: Vault, caller: Caller = require(Permission.USER_MANAGE)
) -> UserView:
    user = await service.set_active(session, user_id, False, vault, caller)
    return await _one(session, caller, vault, user)


@users.post("/{user_id}/reactivate", summary="恢复用户 / Let a deactivated user sign in again")
async def reactivate_user(
    user_id: UUID, session: Session, vault: Vault, caller: Caller = require(Permission.USER_MANAGE)
) -> UserView:
    user = await service.set_active(session, user_id, True, vault, caller)
    return await _one(session, caller, vault, user)


@users.post("/{user_id}/unlock", summary="解锁用户 / Lift a sign-in lockout before it runs out")
async def unlock_user(
    user_id: UUID, session: Session, vault: Vault, caller: Caller = require(Permission.USER_MANAGE)
) -> UserView:
    return await _one(session, caller, vault, await service.unlock(session, user_id, caller))


@users.post(
    "/{user_id}/password",
    status_code=204,
    summary="重置密码 / Set a user's password (their sign-ins end)",
)
async def set_password(
    user_id: UUID,
    body: PasswordSet,
    session: Session,
    caller: Caller = require(Permission.USER_MANAGE),
) -> Response:
    await service.set_password(session, user_id, body.password, caller)
    return Response(status_code=204)


identity = APIRouter(prefix="/identity", tags=["identity"])


@identity.post(
    "/api-keys",
    status_code=201,
    summary="创建接口密钥 / Create an API key for an integration (its secret is shown once)",
)
async def create_api_key(
    body: ApiKeyCreate,
    session: Session,
    response: Response,
    caller: Caller = require(Permission.API_KEY_MANAGE),
) -> ApiKeyCreated:
    key, secret = await service.create_api_key(session, body, caller)
    response.headers["Location"] = f"/api/v1/identity/api-keys/{key.id}"
    return ApiKeyCreated(**ApiKeyPublic.model_validate(key).model_dump(), secret=secret)


@identity.get("/api-keys", summary="接口密钥列表 / The API keys of the caller's region")
async def list_api_keys(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    caller: Caller = require(Permission.API_KEY_MANAGE),
) -> Page[ApiKeyPublic]:
    rows, cursor = await service.list_api_keys(session, caller, page)
    return Page(items=[ApiKeyPublic.model_validate(r) for r in rows], next_cursor=cursor)


@identity.get("/api-keys/{key_id}", summary="接口密钥 / One API key (never its secret)")
async def get_api_key(
    key_id: UUID, session: Session, caller: Caller = require(Permission.API_KEY_MANAGE)
) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(await service.get_api_key(session, key_id, caller))


@identity.post(
    "/api-keys/{key_id}/revoke",
    summary="吊销接口密钥 / Revoke an API key: the gateway refuses it within seconds",
)
async def revoke_api_key(
    key_id: UUID,
    session: Session,
    caller: Caller = require(Permission.API_KEY_MANAGE),
) -> ApiKeyPublic:
    key = await service.revoke_api_key(session, key_id, caller)
    return ApiKeyPublic.model_validate(key)


@identity.post(
    "/signing-keys/rotate",
    summary="轮换签名密钥 / A new key, published now, signs in a few seconds; nobody is logged out",
)
async def rotate_signing_key(
    session: Session, vault: Vault, request: Request, _: Caller = require(Permission.OPERATIONS)
) -> SigningKeyPublic:
    ahead = request.app.state.policy.key_published_ahead
    return SigningKeyPublic.model_validate(await tokens.rotate(session, vault, ahead=ahead))
