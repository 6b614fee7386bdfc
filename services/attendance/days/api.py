from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query

from services.attendance.days import service
from services.attendance.days.schemas import (
    AttendanceRulePublic,
    AttendanceRuleSet,
    CadreDayPublic,
    DayStatus,
)
from services.common.auth import Caller, require
from services.common.db import Session
from services.common.errors import Invalid
from services.common.pagination import Page, PageParams, page_params
from services.common.permissions import Permission

router = APIRouter(tags=["days"])
CountyCode = Annotated[str, Path(pattern=r"^\d{12}$", description="县的区划代码")]
MAX_SPAN_DAYS = 366


async def period(
    first: Annotated[date, Query(alias="from", description="起始日 YYYY-MM-DD（含）")],
    last: Annotated[date, Query(alias="to", description="截止日 YYYY-MM-DD（含）")],
) -> tuple[date, date]:
    """The days from `from` to `to`, both included: at most a year of them."""
    if not 0 <= (last - first).days < MAX_SPAN_DAYS:
        raise Invalid(
            f"from 至 to 须为不超过 {MAX_SPAN_DAYS} 天的区间",
            code="invalid_period",
            errors=[{"field": "to", "message": f"on or after from, within {MAX_SPAN_DAYS} days"}],
        )
    return first, last


@router.get(
    "/cadre-days",
    summary="在村天数 / Each cadre's days: present, leave, training, trip or absent",
)
async def list_days(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    days: Annotated[tuple[date, date], Depends(period)],
    cadre_id: UUID | None = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
    status: DayStatus | None = None,
    caller: Caller = require(Permission.DAYS_READ),
) -> Page[CadreDayPublic]:
    first, last = days
    rows, cursor = await service.list_days(
        session,
        page,
        caller,
        first=first,
        last=last,
        cadre_id=cadre_id,
        region_code=region_code,
        status=status,
    )
    return Page(items=[CadreDayPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/rules/{region_code}",
    summary="考勤规则 / A county's attendance rule (the defaults if it has set none)",
)
async def get_rule(
    region_code: CountyCode, session: Session, caller: Caller = require(Permission.DAYS_READ)
) -> AttendanceRulePublic:
    return await service.get_rule(session, region_code, caller)


@router.put("/rules/{region_code}", summary="设定考勤规则 / Set a county's attendance rule")
async def set_rule(
    region_code: CountyCode,
    body: AttendanceRuleSet,
    session: Session,
    caller: Caller = require(Permission.RULE_MANAGE),
) -> AttendanceRulePublic:
    return await service.set_rule(session, region_code, body, caller)
