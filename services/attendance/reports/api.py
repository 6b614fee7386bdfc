from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.attendance.days.api import period
from services.attendance.days.rules import local_day
from services.attendance.reports import service
from services.attendance.reports.schemas import CadreReportRow, Level, RegionReportRow
from services.common.auth import Caller, require
from services.common.db import Session
from services.common.errors import Invalid
from services.common.exports import XLSX, Format, export
from services.common.kernel import CountyTimezone
from services.common.pagination import Page, PageParams, decode_cursor, encode_cursor, page_params
from services.common.permissions import Permission

router = APIRouter(tags=["reports"])
EXPORTS = {
    200: {
        "description": "JSON; or with ?format=csv|xlsx the whole report as a file, 中文表头",
        "content": {"text/csv": {}, XLSX: {}},
    }
}


async def report_of(
    days: Annotated[tuple[date, date], Depends(period)],
    timezone: CountyTimezone,
    region_code: Annotated[
        str | None, Query(pattern=r"^\d{2,12}$", description="只统计该区划代码前缀之内")
    ] = None,
) -> service.Report:
    """The period up to today at most: days ahead have happened to nobody yet (approved
    leave already marks them)."""
    today = local_day(datetime.now(UTC), timezone)
    return service.Report(first=days[0], last=min(days[1], today), region_code=region_code)


Report = Annotated[service.Report, Depends(report_of)]


async def _answer(
    request: Request,
    session: Session,
    report: service.Report,
    page: PageParams,
    format: Format,
    caller: Caller,
) -> Page[BaseModel] | object:
    """A page of the report as JSON, or the whole of it as a streamed file."""
    kind = report.level or "cadre"
    if page.sort is not None:
        raise Invalid("报表按排名排序", code="invalid_sort")
    if format != "json":
        db = request.app.state.kernel.db

        async def rows() -> AsyncIterator[BaseModel]:
            # Its own transaction: the request's has ended before the body is sent.
            async with db.transaction() as own:
                async for row in service.stream(own, report, caller):
                    yield row

        name = f"考勤报表_{kind}_{report.first}_{report.last}"
        return export(rows, report.row, format, name)
    after = 0
    if page.cursor:
        position, _ = decode_cursor(page.cursor, kind)
        if type(position) is not int or position < 0:  # a forged one: no bool, no negative
            raise Invalid("分页游标无效", code="invalid_cursor")
        after = position
    rows = await service.page(session, report, caller, after=after, limit=page.limit + 1)
    more = len(rows) > page.limit
    cursor = encode_cursor(kind, [after + page.limit, kind]) if more else None
    return Page(items=rows[: page.limit], next_cursor=cursor)


@router.get(
    "/reports/cadres",
    summary="干部考勤报表 / Each cadre's days in a period, ranked (JSON, CSV or XLSX)",
    responses=EXPORTS,
)
async def cadre_report(
    request: Request,
    session: Session,
    report: Report,
    page: Annotated[PageParams, Depends(page_params)],
    format: Format = "json",
    caller: Caller = require(Permission.DAYS_READ),
) -> Page[CadreReportRow]:
    return await _answer(request, session, report, page, format, caller)  # type: ignore[return-value]


@router.get(
    "/reports/regions",
    summary="区域考勤报表 / Each team's, township's or county's days in a period, ranked",
    responses=EXPORTS,
)
async def region_report(
    request: Request,
    session: Session,
    report: Report,
    page: Annotated[PageParams, Depends(page_params)],
    level: Annotated[Level, Query(description="team / village / township / county")],
    format: Format = "json",
    caller: Caller = require(Permission.DAYS_READ),
) -> Page[RegionReportRow]:
    by_level = service.Report(report.first, report.last, level, report.region_code)
    return await _answer(request, session, by_level, page, format, caller)  # type: ignore[return-value]
