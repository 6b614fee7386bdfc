from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from services.common.auth import Caller, require
from services.common.db import Session
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission
from services.notify.delivery import service
from services.notify.delivery.schemas import MessagePublic, MessageStatus

router = APIRouter(tags=["messages"])


@router.get("/messages", summary="消息列表 / Messages and what became of them, newest first")
async def list_messages(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    recipient_id: UUID | None = None,
    event_id: UUID | None = None,
    campaign_id: UUID | None = None,
    status: MessageStatus | None = None,
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
    )
    return Page(items=[MessagePublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/messages/{message_id}", summary="消息详情 / One message")
async def get_message(
    message_id: UUID, session: Session, caller: Caller = require(Permission.MESSAGE_READ)
) -> MessagePublic:
    return MessagePublic.model_validate(await service.get_message(session, message_id, caller))
