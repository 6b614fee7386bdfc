from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.common.auth import Caller, require
from services.common.db import Session
from services.common.pagination import Page
from services.common.permissions import Permission
from services.notify.festivals import service
from services.notify.festivals.calendar import MAX_YEAR, MIN_YEAR
from services.notify.festivals.schemas import (
    CountyFestivalPublic,
    CountyFestivalSet,
    FestivalPublic,
)

router = APIRouter(tags=["festivals"])
FESTIVALS = "/api/v1/notify/festivals"
Year = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="年份")]
CountyCode = Annotated[
    str, Path(pattern=r"^\d{6}(\d{6})?$", description="县的区划代码（6 位或 12 位）")
]
Code = Annotated[
    str, Path(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="节日代码（snake_case）如 yi_new_year")
]


@router.get("/festivals", summary="节日日历 / The festivals of a year, the county's own among them")
async def list_festivals(
    session: Session,
    year: Annotated[int, Query(ge=MIN_YEAR, le=MAX_YEAR, description="年份")],
    county_code: Annotated[
        str | None,
        Query(pattern=r"^\d{6}(\d{6})?$", description="县的区划代码；不填只列全国节日"),
    ] = None,
    caller: Caller = require(Permission.CAMPAIGN_READ),
) -> Page[FestivalPublic]:
    if county_code is not None:
        county_code = service.county_code_of(county_code)
        service.check_readable(caller, county_code)
    found = await service.festivals_for(session, county_code, year)
    return Page(items=[FestivalPublic.model_validate(f) for f in found], next_cursor=None)


@router.put(
    "/festivals/{county_code}/{code}/{year}",
    summary="设定本县节日 / Set a county's own festival of a year (彝族年, 藏历新年 …)",
    responses={201: {"description": "Created", "model": CountyFestivalPublic}},
)
async def set_county_festival(
    county_code: CountyCode,
    code: Code,
    year: Year,
    body: CountyFestivalSet,
    session: Session,
    response: Response,
    caller: Caller = require(Permission.FESTIVAL_MANAGE),
) -> CountyFestivalPublic:
    county_code = service.county_code_of(county_code)
    festival, created = await service.set_county_festival(
        session, county_code, code, year, body, caller
    )
    if created:
        response.status_code = 201
        response.headers["Location"] = f"{FESTIVALS}/{county_code}/{code}/{year}"
    return CountyFestivalPublic.model_validate(festival)


@router.delete(
    "/festivals/{county_code}/{code}/{year}",
    status_code=204,
    summary="删除本县节日 / Remove a county's own festival of a year",
)
async def delete_county_festival(
    county_code: CountyCode,
    code: Code,
    year: Year,
    session: Session,
    caller: Caller = require(Permission.FESTIVAL_MANAGE),
) -> Response:
    county_code = service.county_code_of(county_code)
    await service.delete_county_festival(session, county_code, code, year, caller)
    return Response(status_code=204)
