"""The providers' callbacks (回调): delivery receipts and SMS replies (退订 / TD unsubscribes).

The providers push them to `/callbacks/{provider}/receipts|replies?token=…`; neither Aliyun's
nor Tencent's pushes are signed, so the URL carries a secret token (NOTIFY_CALLBACK_TOKEN),
checked in constant time. A wrong token, or a body that is not the provider's shape, changes
nothing. A receipt moves a sent message to delivered or failed once: a repeated receipt
finds it no longer `sent` and changes nothing.
"""

import hmac
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import Session, driver
from services.common.errors import Invalid, Unauthorized
from services.common.sensitive import SensitiveData, normalize_phone
from services.notify import events
from services.notify.contacts import service as contacts
from services.notify.providers import aliyun, tencent
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

_RECEIPT = """
UPDATE message m
SET status = CASE WHEN $3 THEN 'delivered' ELSE 'failed' END,
    delivered_at = CASE WHEN $3 THEN now() END,
    error_code = CASE WHEN $3 THEN NULL ELSE $5 END,
    error_detail = CASE WHEN $3 THEN NULL ELSE $6 END,
    updated_at = now()
FROM contact c
WHERE m.provider = $1 AND m.provider_message_id = $2 AND m.status = 'sent'
  AND c.id = m.recipient_id AND c.phone_hash = $4
RETURNING m.id, m.event_id, m.recipient_id, m.region_code, m.channel, m.provider, m.template,
          m.status, m.error_code, m.error_detail
"""


def _check_token(notify: NotifyContext, token: str) -> None:
    expected = notify.settings.callback_token.get_secret_value()
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("回调令牌无效", code="callback_token_invalid")


async def _read(request: Request, provider: str, which: int) -> list[Any]:
    try:
        return _PARSERS[provider][which](await request.body())
    except (ValueError, KeyError, TypeError) as exc:
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
        phone_hash = _phone_hash(vault, receipt.address)
        row = await connection.fetchrow(
            _RECEIPT,
            provider,
            receipt.provider_message_id,
            receipt.delivered,
            phone_hash,
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
