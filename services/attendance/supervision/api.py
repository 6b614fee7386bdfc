from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from services.attendance.roster.api import RegionPrefix
from services.attendance.roster.schemas import TeamMemberPublic
from services.attendance.supervision import service
from services.attendance.supervision.schemas import (
    ConductReportCreate,
    ConductReportPublic,
    SpotCheckCreate,
    SpotCheckPublic,
    TalkCreate,
    TalkEscalation,
    TalkPublic,
)
from services.common.auth import Caller, require
from services.common.contracts.attendance import Presence
from services.common.db import Session
from services.common.kernel import CountyTimezone
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission

router = APIRouter(tags=["supervision"])
SPOT_CHECKS = "/api/v1/attendance/spot-checks"
CONDUCT_REPORTS = "/api/v1/attendance/conduct-reports"
TALKS = "/api/v1/attendance/talks"
Pages = Annotated[PageParams, Depends(page_params)]


_MONTH = r"^[12]\d{3}-(0[1-9]|1[0-2])$"  # years 1000-2999: each a real date


def _month(month: str) -> date:
    """A month as YYYY-MM (checked by `_MONTH`) as its first day."""
    return date.fromisoformat(f"{month}-01")


@router.post(
    "/spot-checks",
    status_code=201,
    summary="记录明察暗访 / Record a spot check (a resent client_id answers 200, the stored one)",
    responses={200: {"description": "Already recorded: the stored spot check"}},
)
async def record_spot_check(
    body: SpotCheckCreate,
    session: Session,
    response: Response,
    timezone: CountyTimezone,
    caller: Caller = require(Permission.SPOTCHECK_RECORD),
) -> SpotCheckPublic:
    check, created = await service.record_spot_check(session, body, caller, timezone)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"{SPOT_CHECKS}/{check.id}"
    return check


@router.get("/spot-checks", summary="明察暗访记录 / Spot checks, latest visit first")
async def list_spot_checks(
    session: Session,
    page: Pages,
    region_code: RegionPrefix = None,
    cadre_id: Annotated[UUID | None, Query(description="点名了该干部（在岗或不在岗）")] = None,
    caller: Caller = require(Permission.SUPERVISION_READ),
) -> Page[SpotCheckPublic]:
    rows, cursor = await service.list_spot_checks(
        session, page, caller, region_code=region_code, cadre_id=cadre_id
    )
    return Page(items=rows, next_cursor=cursor)


@router.get("/spot-checks/{spot_check_id}", summary="明察暗访详情 / One spot check")
async def get_spot_check(
    spot_check_id: UUID, session: Session, caller: Caller = require(Permission.SUPERVISION_READ)
) -> SpotCheckPublic:
    return await service.get_spot_check(session, spot_check_id, caller)


@router.post(
    "/conduct-reports",
    status_code=201,
    summary="提交风气监督报告 / A conduct supervisor reports on the team's presence and conduct",
)
async def record_conduct_report(
    body: ConductReportCreate,
    session: Session,
    response: Response,
    timezone: CountyTimezone,
    caller: Caller = require(Permission.CONDUCT_REPORT),
) -> ConductReportPublic:
    report = await service.record_conduct_report(session, body, caller, timezone)
    response.headers["Location"] = f"{CONDUCT_REPORTS}/{report.id}"
    return ConductReportPublic.model_validate(report)


@router.get("/conduct-reports", summary="风气监督报告 / Conduct supervisors' reports, latest first")
async def list_conduct_reports(
    session: Session,
    page: Pages,
    region_code: RegionPrefix = None,
    presence: Presence | None = None,
    caller: Caller = require(Permission.CONDUCT_READ),
) -> Page[ConductReportPublic]:
    rows, cursor = await service.list_conduct_reports(
        session, page, caller, region_code=region_code, presence=presence
    )
    return Page(items=[ConductReportPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/conduct-reports/{report_id}", summary="风气监督报告详情 / One conduct report")
async def get_conduct_report(
    report_id: UUID, session: Session, caller: Caller = require(Permission.CONDUCT_READ)
) -> ConductReportPublic:
    report = await service.get_conduct_report(session, report_id, caller)
    return ConductReportPublic.model_validate(report)


@router.post("/talks", status_code=201, summary="记录谈心谈话 / Record a heart-to-heart talk")
async def record_talk(
    body: TalkCreate,
    session: Session,
    response: Response,
    timezone: CountyTimezone,
    caller: Caller = require(Permission.TALK_RECORD),
) -> TalkPublic:
    talk = await service.record_talk(session, body, caller, timezone)
    response.headers["Location"] = f"{TALKS}/{talk.id}"
    return TalkPublic.model_validate(talk)


@router.get("/talks", summary="谈心谈话记录 / Heart-to-heart talks, latest first")
async def list_talks(
    session: Session,
    page: Pages,
    region_code: RegionPrefix = None,
    cadre_id: UUID | None = None,
    month: Annotated[str | None, Query(pattern=_MONTH, description="月份 YYYY-MM")] = None,
    escalated: Annotated[bool | None, Query(description="true 仅已上报")] = None,
    caller: Caller = require(Permission.SUPERVISION_READ),
) -> Page[TalkPublic]:
    rows, cursor = await service.list_talks(
        session,
        page,
        caller,
        region_code=region_code,
        cadre_id=cadre_id,
        month=None if month is None else _month(month),
        escalated=escalated,
    )
    return Page(items=[TalkPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/talks/missing",
    summary="当月未谈心谈话的干部 / Team terms of a month whose cadre had no talk that month",
)
async def list_missing_talks(
    session: Session,
    page: Pages,
    month: Annotated[str, Query(pattern=_MONTH, description="月份 YYYY-MM")],
    region_code: RegionPrefix = None,
    caller: Caller = require(Permission.SUPERVISION_READ),
) -> Page[TeamMemberPublic]:
    rows, cursor = await service.list_missing_talks(
        session, page, caller, month=_month(month), region_code=region_code
    )
    return Page(items=[TeamMemberPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/talks/{talk_id}", summary="谈心谈话详情 / One heart-to-heart talk")
async def get_talk(
    talk_id: UUID, session: Session, caller: Caller = require(Permission.SUPERVISION_READ)
) -> TalkPublic:
    return TalkPublic.model_validate(await service.get_talk(session, talk_id, caller))


@router.post(
    "/talks/{talk_id}/escalate",
    summary="问题上报乡镇党委 / Escalate a talk's unsolved problems to the township committee",
)
async def escalate_talk(
    talk_id: UUID,
    body: TalkEscalation,
    session: Session,
    caller: Caller = require(Permission.TALK_RECORD),
) -> TalkPublic:
    talk = await service.escalate_talk(session, talk_id, body, caller)
    return TalkPublic.model_validate(talk)
