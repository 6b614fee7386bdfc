from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response

from services.common.auth import Caller, require
from services.common.db import Session
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission
from services.notify.delivery import service
from services.notify.delivery.schemas import (
    MessagePublic,
    MessageStatus,
    QuietHoursPublic,
    QuietHoursSet,
)
from services.notify.state import NotifyContext

router = APIRouter(tags=["messages"])
CountyCode = Annotated[
    str,
    Path(
        pattern=r"^(\d{6}|\d{12})$",
        description="县的区划代码：6 位（511529）或 12 位（511529000000）",
    ),
]


@router.get("/messages", summary="消息列表 / Messages and what became of them, newest first")
async def list_messages(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    recipient_id: UUID | None = None,
    event_id: UUID | None = None,
    campaign_id: UUID | None = None,
    status: MessageStatus | None = None,
    template: Annotated[str | None, Query(max_length=64, description="模板代码")] = None,
    caller: Caller = require(Permission.MESSAGE_READ),
) -> Page[MessagePublic]:
    rows, cursor = await service.list_messages(
        session,
        page,
        caller,
        recipient_id=recipient_id,
        event_id=event_id,
        campaign_id=campaign_id,
        status=status,
        template=template,
    )
    return Page(items=[MessagePublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/messages/{message_id}", summary="消息详情 / One message")
async def get_message(
    message_id: UUID, session: Session, caller: Caller = require(Permission.MESSAGE_READ)
) -> MessagePublic:
    return MessagePublic.model_validate(await service.get_message(session, message_id, caller))


def _default(notify: NotifyContext) -> tuple:
    return notify.settings.quiet_starts, notify.settings.quiet_ends


@router.get(
    "/quiet-hours/{county_code}",
    tags=["quiet hours"],
    summary="免打扰时段 / A county's quiet hours, or the default",
)
async def get_quiet_hours(
    county_code: CountyCode,
    session: Session,
    notify: NotifyContext,
    caller: Caller = require(Permission.CAMPAIGN_READ),
) -> QuietHoursPublic:
    return await service.get_quiet_hours(session, county_code, caller, _default(notify))


@router.put(
    "/quiet-hours/{county_code}",
    tags=["quiet hours"],
    summary="设定免打扰时段 / Set a county's quiet hours (greetings wait them out)",
)
async def set_quiet_hours(
    county_code: CountyCode,
    body: QuietHoursSet,
    session: Session,
    notify: NotifyContext,
    caller: Caller = require(Permission.CAMPAIGN_MANAGE),
) -> QuietHoursPublic:
    return await service.set_quiet_hours(session, county_code, body, caller, _default(notify))


@router.delete(
    "/quiet-hours/{county_code}",
    status_code=204,
    tags=["quiet hours"],
    summary="恢复默认免打扰时段 / A county's quiet hours back to the default",
)
async def delete_quiet_hours(
    county_code: CountyCode,
    session: Session,
    notify: NotifyContext,
    caller: Caller = require(Permission.CAMPAIGN_MANAGE),
) -> Response:
    await service.delete_quiet_hours(session, county_code, caller, _default(notify))
    return Response(status_code=204)
