from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from services.attendance.days.rules import local_day
from services.attendance.leave import service
from services.attendance.leave.schemas import (
    LeaveDecision,
    LeaveRefusal,
    LeaveRequestCreate,
    LeaveRequestPublic,
    LeaveStatus,
)
from services.common.auth import Caller, require
from services.common.db import Session
from services.common.kernel import CountyTimezone
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission

router = APIRouter(tags=["leave"])
LEAVE = "/api/v1/attendance/leave-requests"


@router.post(
    "/leave-requests",
    status_code=201,
    summary="申请请假、培训或公出 / Ask for leave, training or an official trip",
)
async def request_leave(
    body: LeaveRequestCreate,
    session: Session,
    response: Response,
    caller: Caller = require(Permission.LEAVE_REQUEST),
) -> LeaveRequestPublic:
    leave = await service.request_leave(session, body, caller)
    response.headers["Location"] = f"{LEAVE}/{leave.id}"
    return LeaveRequestPublic.model_validate(leave)


@router.get("/leave-requests", summary="请假申请 / Leave, training and trip requests")
async def list_leave(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    cadre_id: UUID | None = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
    status: LeaveStatus | None = None,
    on: Annotated[date | None, Query(description="只列出覆盖该日的申请 YYYY-MM-DD")] = None,
    caller: Caller = require(Permission.LEAVE_READ),
) -> Page[LeaveRequestPublic]:
    rows, cursor = await service.list_leave(
        session, page, caller, cadre_id=cadre_id, region_code=region_code, status=status, on=on
    )
    return Page(items=[LeaveRequestPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/leave-requests/{leave_id}", summary="请假申请详情 / One request")
async def get_leave(
    leave_id: UUID, session: Session, caller: Caller = require(Permission.LEAVE_READ)
) -> LeaveRequestPublic:
    return LeaveRequestPublic.model_validate(await service.get_leave(session, leave_id, caller))


@router.post(
    "/leave-requests/{leave_id}/approve",
    summary="批准 / Approve (the responsible person the county's rule names)",
)
async def approve_leave(
    leave_id: UUID,
    session: Session,
    body: LeaveDecision | None = None,
    caller: Caller = require(Permission.LEAVE_APPROVE),
) -> LeaveRequestPublic:
    leave = await service.decide(session, leave_id, "approved", body or LeaveDecision(), caller)
    return LeaveRequestPublic.model_validate(leave)


@router.post("/leave-requests/{leave_id}/refuse", summary="不批准 / Refuse, saying why")
async def refuse_leave(
    leave_id: UUID,
    body: LeaveRefusal,
    session: Session,
    caller: Caller = require(Permission.LEAVE_APPROVE),
) -> LeaveRequestPublic:
    return LeaveRequestPublic.model_validate(
        await service.decide(session, leave_id, "refused", body, caller)
    )


@router.post(
    "/leave-requests/{leave_id}/cancel",
    summary="撤回 / Withdraw one's own request (pending, or approved and not yet begun)",
)
async def cancel_leave(
    leave_id: UUID,
    session: Session,
    timezone: CountyTimezone,
    caller: Caller = require(Permission.LEAVE_REQUEST),
) -> LeaveRequestPublic:
    today = local_day(datetime.now(UTC), timezone)
    leave = await service.cancel(session, leave_id, caller, today)
    return LeaveRequestPublic.model_validate(leave)
