from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from services.attendance.roster import service
from services.attendance.roster.schemas import (
    CheckinAreaCreate,
    CheckinAreaPublic,
    TeamMemberCreate,
    TeamMemberEnd,
    TeamMemberPublic,
    TeamRole,
)
from services.common.auth import Caller, require
from services.common.db import Session
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission

router = APIRouter(tags=["roster"])
MEMBERS = "/api/v1/attendance/team-members"
AREAS = "/api/v1/attendance/checkin-areas"
RegionPrefix = Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="区划代码前缀")]


@router.post("/team-members", status_code=201, summary="派驻工作队成员 / Put a cadre on a team")
async def assign_member(
    body: TeamMemberCreate,
    session: Session,
    response: Response,
    caller: Caller = require(Permission.ROSTER_MANAGE),
) -> TeamMemberPublic:
    member = await service.assign_member(session, body, caller)
    response.headers["Location"] = f"{MEMBERS}/{member.id}"
    return TeamMemberPublic.model_validate(member)


@router.get("/team-members", summary="工作队成员 / Team terms, optionally those on a given day")
async def list_members(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    region_code: RegionPrefix = None,
    cadre_id: UUID | None = None,
    role: TeamRole | None = None,
    on: Annotated[date | None, Query(description="只列出该日在任的成员 YYYY-MM-DD")] = None,
    caller: Caller = require(Permission.ROSTER_READ),
) -> Page[TeamMemberPublic]:
    rows, cursor = await service.list_members(
        session, page, caller, region_code=region_code, cadre_id=cadre_id, role=role, on=on
    )
    return Page(items=[TeamMemberPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/team-members/{member_id}", summary="工作队成员详情 / One team term")
async def get_member(
    member_id: UUID, session: Session, caller: Caller = require(Permission.ROSTER_READ)
) -> TeamMemberPublic:
    return TeamMemberPublic.model_validate(await service.get_member(session, member_id, caller))


@router.post("/team-members/{member_id}/end", summary="结束任期 / End a term, with why")
async def end_term(
    member_id: UUID,
    body: TeamMemberEnd,
    session: Session,
    caller: Caller = require(Permission.ROSTER_MANAGE),
) -> TeamMemberPublic:
    member = await service.end_term(session, member_id, body, caller)
    return TeamMemberPublic.model_validate(member)


@router.post("/checkin-areas", status_code=201, summary="新增签到范围 / Add a check-in area")
async def add_area(
    body: CheckinAreaCreate,
    session: Session,
    response: Response,
    caller: Caller = require(Permission.ROSTER_MANAGE),
) -> CheckinAreaPublic:
    area = await service.add_area(session, body, caller)
    response.headers["Location"] = f"{AREAS}/{area.id}"
    return CheckinAreaPublic.model_validate(area)


@router.get("/checkin-areas", summary="签到范围 / Check-in areas, retired ones too")
async def list_areas(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    region_code: RegionPrefix = None,
    active: Annotated[bool | None, Query(description="true 仅在用，false 仅已停用")] = None,
    caller: Caller = require(Permission.ROSTER_READ),
) -> Page[CheckinAreaPublic]:
    rows, cursor = await service.list_areas(
        session, page, caller, region_code=region_code, active=active
    )
    return Page(items=[CheckinAreaPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/checkin-areas/{area_id}", summary="签到范围详情 / One check-in area")
async def get_area(
    area_id: UUID, session: Session, caller: Caller = require(Permission.ROSTER_READ)
) -> CheckinAreaPublic:
    return CheckinAreaPublic.model_validate(await service.get_area(session, area_id, caller))


@router.post(
    "/checkin-areas/{area_id}/retire",
    summary="停用签到范围 / Retire an area (kept for judging past check-ins)",
)
async def retire_area(
    area_id: UUID, session: Session, caller: Caller = require(Permission.ROSTER_MANAGE)
) -> CheckinAreaPublic:
    return CheckinAreaPublic.model_validate(await service.retire_area(session, area_id, caller))
