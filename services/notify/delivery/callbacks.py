"""The providers' callbacks (回调): delivery receipts and SMS replies (退订 / TD unsubscribes).

The SMS providers push them to `/callbacks/{provider}/receipts|replies?token=…`; neither
Aliyun's nor Tencent's pushes are signed, so the URL carries a secret token
(NOTIFY_CALLBACK_TOKEN), checked in constant time. WeChat signs its pushes to
`/callbacks/wechat` with the account's server token (NOTIFY_WECHAT__SERVER_TOKEN). A wrong
token or signature, or a body that is not the provider's shape, changes nothing. A receipt
moves a sent message to delivered or failed once: a repeated receipt finds it no longer
`sent` and changes nothing.
"""

import hmac
from collections.abc import Callable
from dataclasses import astuple
from typing import Annotated, Any, Literal
from xml.etree import ElementTree

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import Session, driver
from services.common.errors import Invalid, Unauthorized
from services.common.sensitive import SensitiveData, normalize_phone
from services.notify import events
from services.notify.contacts import service as contacts
from services.notify.providers import aliyun, tencent, wechat
from services.notify.providers.base import Receipt, Reply
from services.notify.state import NotifyContext

router = APIRouter(tags=["callbacks"])

SmsProvider = Literal["aliyun", "tencent"]
_PARSERS: dict[str, tuple[Callable[[bytes], list[Receipt]], Callable[[bytes], list[Reply]]]] = {
    "aliyun": (aliyun.parse_receipts, aliyun.parse_replies),
    "tencent": (tencent.parse_receipts, tencent.parse_replies),
}
_ANSWERS: dict[str, dict[str, Any]] = {
    "aliyun": aliyun.CALLBACK_ANSWER,
    "tencent": tencent.CALLBACK_ANSWER,
}
# What a reply says to unsubscribe: 退订, TD (the carriers' convention), and their kin.
UNSUBSCRIBE = {"TD", "T", "N", "退订", "退", "取消", "UNSUBSCRIBE", "STOP"}

# A receipt names the provider's message id and the address: an SMS's phone (by its keyed
# hash), a WeChat message's openid.
_RECEIPT = """
UPDATE message m
SET status = CASE WHEN $3 THEN 'delivered' ELSE 'failed' END,
    delivered_at = CASE WHEN $3 THEN now() END,
    error_code = CASE WHEN $3 THEN NULL ELSE $5 END,
    error_detail = CASE WHEN $3 THEN NULL ELSE $6 END,
    updated_at = now()
FROM contact c
WHERE m.provider = $1 AND m.provider_message_id = $2 AND m.status = 'sent'
  AND c.id = m.recipient_id AND {address} = $4
RETURNING m.id, m.event_id, m.recipient_id, m.region_code, m.channel, m.provider, m.template,
          m.status, m.error_code, m.error_detail
"""
_BY_ADDRESS = {
    "sms": _RECEIPT.format(address="c.phone_hash"),
    "wechat": _RECEIPT.format(address="c.wechat_openid"),
}
_UNFOLLOWED = "UPDATE contact SET wechat_openid = NULL, updated_at = now() WHERE wechat_openid = $1"


def _check_token(notify: NotifyContext, token: str) -> None:
    expected = notify.settings.callback_token.get_secret_value()
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("回调令牌无效", code="callback_token_invalid")


async def _read(request: Request, provider: str, which: int) -> list[Any]:
    try:
        items = _PARSERS[provider][which](await request.body())
        if any("\x00" in str(field) for item in items for field in astuple(item)):
            raise ValueError("a NUL character")  # no text column takes one
        return items
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # not the shape it claims
        raise Invalid(
            f"回调内容不是{provider}的格式 (not the provider's callback shape)",
            code="callback_unreadable",
        ) from exc


def _phone_hash(vault: SensitiveData, address: str) -> str | None:
    try:
        return vault.hash(normalize_phone(address))
    except ValueError:
        return None


async def record_receipts(
    session: AsyncSession, vault: SensitiveData, provider: str, receipts: list[Receipt]
) -> int:
    """Each receipt's message delivered or failed; how many messages changed."""
    connection = await driver(session)
    changed = 0
    for receipt in receipts:
        sms = provider != "wechat"
        row = await connection.fetchrow(
            _BY_ADDRESS["sms" if sms else "wechat"],
            provider,
            receipt.provider_message_id,
            receipt.delivered,
            _phone_hash(vault, receipt.address) if sms else receipt.address,
            receipt.code,
            receipt.detail,
        )
        if row is not None:
            changed += 1
            await events.message_outcome(session, row)
    return changed


@router.post(
    "/callbacks/{provider}/receipts",
    summary="短信回执回调 / A provider's delivery receipts (token in the URL)",
)
async def receipts(
    provider: SmsProvider,
    request: Request,
    session: Session,
    notify: NotifyContext,
    token: Annotated[str, Query(max_length=200)],
) -> JSONResponse:
    _check_token(notify, token)
    await record_receipts(session, notify.vault, provider, await _read(request, provider, 0))
    return JSONResponse(_ANSWERS[provider])


@router.post(
    "/callbacks/{provider}/replies",
    summary="短信上行回调 / What recipients texted back: 退订 / TD unsubscribes",
)
async def replies(
    provider: SmsProvider,
    request: Request,
    session: Session,
    notify: NotifyContext,
    token: Annotated[str, Query(max_length=200)],
) -> JSONResponse:
    _check_token(notify, token)
    for reply in await _read(request, provider, 1):
        phone_hash = _phone_hash(notify.vault, reply.address)
        if phone_hash and reply.text.strip().upper() in UNSUBSCRIBE:
            await contacts.opt_out(session, phone_hash, via=provider)
    return JSONResponse(_ANSWERS[provider])


def _check_wechat_signature(notify: NotifyContext, signature: str, timestamp: str, nonce: str):
    config = notify.settings.wechat
    token = config.server_token if config else None
    expected = wechat.push_signature(token.get_secret_value(), timestamp, nonce) if token else ""
    if not token or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise Unauthorized("微信推送签名无效", code="callback_signature_invalid")


_Signed = Annotated[str, Query(max_length=100)]


@router.get(
    "/callbacks/wechat",
    summary="微信服务器配置校验 / WeChat's check of the server URL (echoes echostr if signed)",
)
async def wechat_check(
    notify: NotifyContext,
    signature: _Signed,
    timestamp: _Signed,
    nonce: _Signed,
    echostr: Annotated[str, Query(max_length=200)],
) -> PlainTextResponse:
    _check_wechat_signature(notify, signature, timestamp, nonce)
    return PlainTextResponse(echostr)


@router.post(
    "/callbacks/wechat",
    summary="微信消息推送 / WeChat's signed pushes: template send results, unfollows",
)
async def wechat_push(
    request: Request,
    session: Session,
    notify: NotifyContext,
    signature: _Signed,
    timestamp: _Signed,
    nonce: _Signed,
) -> PlainTextResponse:
    _check_wechat_signature(notify, signature, timestamp, nonce)
    try:
        receipts, unfollowed = wechat.parse_push(await request.body())
    except (ValueError, ElementTree.ParseError) as exc:
        raise Invalid("推送内容不是微信的 XML 格式", code="callback_unreadable") from exc
    await record_receipts(session, notify.vault, "wechat", receipts)
    connection = await driver(session)
    for openid in unfollowed:  # no more WeChat for them: alerts fall to their other channels
        await connection.execute(_UNFOLLOWED, openid)
    return PlainTextResponse("success")  # what WeChat expects, else it pushes again
