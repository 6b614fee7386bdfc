from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from services.attendance import service
from services.attendance.schemas import (
    CheckinBatch,
    CheckinBatchResult,
    CheckinCreate,
    CheckinPublic,
    CheckinReview,
    CheckinSummary,
)
from services.common.auth import Caller, require, view_for
from services.common.db import Session
from services.common.kernel import CountyTimezone
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission

router = APIRouter(tags=["attendance"])


@router.post(
    "/checkins",
    status_code=201,
    summary="签到 / Record a check-in (a resent client_id answers 200 with the stored one)",
    responses={200: {"description": "Already recorded: the stored check-in"}},
)
async def create_checkin(
    body: CheckinCreate,
    session: Session,
    response: Response,
    timezone: CountyTimezone,
    caller: Caller = require(Permission.CHECKIN_RECORD),
) -> CheckinPublic:
    service.check_may_record(caller, body)
    checkin, created = await service.record_checkin(session, body, timezone.key)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/attendance/checkins/{checkin.id}"
    return checkin


@router.post(
    "/checkins/batch",
    summary="离线批量签到 / Check-ins queued offline, sent at once: each item answered on its own",
)
async def create_checkins(
    body: CheckinBatch,
    session: Session,
    timezone: CountyTimezone,
    caller: Caller = require(Permission.CHECKIN_RECORD),
) -> CheckinBatchResult:
    outcomes = await service.record_batch(session, body, caller, timezone.key)
    return CheckinBatchResult(results=outcomes)


@router.post(
    "/checkins/{checkin_id}/review",
    summary="审核签到 / Accept a (flagged) check-in, or reject it so it no longer counts",
)
async def review_checkin(
    checkin_id: UUID,
    body: CheckinReview,
    session: Session,
    timezone: CountyTimezone,
    caller: Caller = require(Permission.CHECKIN_REVIEW),
) -> CheckinPublic:
    checkin = await service.review_checkin(session, checkin_id, body, caller, timezone.key)
    return CheckinPublic.model_validate(checkin)


@router.get("/checkins/{checkin_id}", summary="签到详情 / One check-in")
async def get_checkin(
    checkin_id: UUID, session: Session, caller: Caller = require(Permission.CHECKIN_READ)
) -> CheckinPublic | CheckinSummary:
    return _view(caller).model_validate(await service.get_checkin(session, checkin_id, caller))


@router.get("/checkins", summary="签到列表 / Check-ins, newest first")
async def list_checkins(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    cadre_id: UUID | None = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
    caller: Caller = require(Permission.CHECKIN_READ),
) -> Page[CheckinPublic] | Page[CheckinSummary]:
    rows, cursor = await service.list_checkins(
        session, page, caller, cadre_id=cadre_id, region_code=region_code
    )
    view = _view(caller)
    return Page[view](items=[view.model_validate(r) for r in rows], next_cursor=cursor)  # type: ignore[valid-type]


def _view(caller: Caller) -> type[CheckinPublic | CheckinSummary]:
    return view_for(caller, CheckinPublic, CheckinSummary, needs=Permission.CHECKIN_READ_POSITION)
