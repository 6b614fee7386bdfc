from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from gateway.identity import service, tokens
from gateway.identity.schemas import CallerPublic, RefreshRequest, TokenResponse
from services.common.auth import Caller, require
from services.common.db import Session
from services.common.errors import Unauthorized
from services.common.permissions import Permission

router = APIRouter(prefix="/auth", tags=["auth"])


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


@router.get("/jwks", summary="公钥 / The keys that verify access tokens (JWKS)")
async def jwks(session: Session, request: Request) -> dict[str, Any]:
    return await tokens.published_keys(session, request.app.state.policy.access_ttl)
