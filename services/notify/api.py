from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from services.common.auth import Caller, require
from services.common.db import Session
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission
from services.notify import service
from services.notify.schemas import MessagePublic

router = APIRouter(tags=["notify"])


@router.get("/messages", summary="消息列表 / Messages sent, newest first")
async def list_messages(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    recipient_id: UUID | None = None,
    event_id: UUID | None = None,
    caller: Caller = require(Permission.MESSAGE_READ),
) -> Page[MessagePublic]:
    rows, cursor = await service.list_messages(
        session, page, caller, recipient_id=recipient_id, event_id=event_id
    )
    return Page(items=[MessagePublic.model_validate(r) for r in rows], next_cursor=cursor)
