"""The festival calendar: the computed festivals and each county's own, and the day a festival
falls on (what a greeting campaign resolves "the Mid-Autumn festival of 2027" with). Plain
functions that take a session and never commit."""

from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.common import audit
from services.common.auth import Caller, check_writable
from services.common.db import lock
from services.common.errors import Conflict, Invalid, NotFound
from services.common.ids import new_id
from services.notify.campaigns.models import Campaign
from services.notify.festivals import calendar
from services.notify.festivals.calendar import Festival
from services.notify.festivals.models import CountyFestival
from services.notify.festivals.schemas import CountyFestivalSet


def check_year(year: int) -> None:
    if not calendar.MIN_YEAR <= year <= calendar.MAX_YEAR:
        raise Invalid(
            f"年份须在 {calendar.MIN_YEAR} 至 {calendar.MAX_YEAR} 之间",
            code="year_out_of_range",
            errors=[
                {
                    "field": "year",
                    "message": f"from {calendar.MIN_YEAR} to {calendar.MAX_YEAR}",
                }
            ],
        )


def check_county(county_code: str) -> None:
    """A county's 6-digit code: not a province's or a city's (…00)."""
    if not (len(county_code) == 6 and county_code.isdigit() and county_code[4:] != "00"):
        raise Invalid(
            "须为县级区划代码（6 位）",
            code="not_a_county",
            errors=[{"field": "county_code", "message": "a county's 6-digit division code"}],
        )


def county_code_of(code: str) -> str:
    """A county's 6-digit code, given as such (511529) or as its 12-digit division code
    (511529000000, the form attendance's rules take); anything else is a 422 `not_a_county`."""
    if len(code) == 12 and code.endswith("000000"):
        code = code[:6]
    check_county(code)
    return code


def check_readable(caller: Caller, county_code: str) -> None:
    """A county's calendar is for anyone whose region lies in it or covers it; another
    county's is as if it did not exist."""
    if not (caller.scope.startswith(county_code) or county_code.startswith(caller.scope)):
        raise NotFound("该县不存在", code="county_not_found")


def _of_county(row: CountyFestival) -> Festival:
    return Festival(
        code=row.code,
        name=row.name,
        name_en=row.code.replace("_", " ").title(),  # yi_new_year -> Yi New Year
        day=row.first_day,
        kind="ethnic",
        days=(row.last_day - row.first_day).days + 1,
    )


async def _stored(
    session: AsyncSession, county_code: str, year: int, code: str | None = None
) -> list[CountyFestival]:
    statement = select(CountyFestival).where(
        CountyFestival.county_code == county_code, CountyFestival.year == year
    )
    if code is not None:
        statement = statement.where(CountyFestival.code == code)
    return list((await session.execute(statement)).scalars())


async def festivals_for(
    session: AsyncSession, county_code: str | None, year: int
) -> list[Festival]:
    """节日日历: the computed festivals of `year` and the county's own, by day (without a
    county, the computed ones)."""
    check_year(year)
    found = calendar.festivals(year)
    if county_code is not None:
        check_county(county_code)
        found += [_of_county(row) for row in await _stored(session, county_code, year)]
    return sorted(found, key=lambda f: (f.day, f.code))


async def find_festival(session: AsyncSession, county_code: str, code: str, year: int) -> Festival:
    """The festival `code` of `year` for the county: a computed one (`mid_autumn`) or the
    county's own (`yi_new_year`, with its days); 404 `festival_not_found` if neither."""
    check_year(year)
    check_county(county_code)
    if code in calendar.CODES:
        return next(f for f in calendar.festivals(year) if f.code == code)
    stored = await _stored(session, county_code, year, code)
    if not stored:
        raise NotFound(f"{year} 年没有节日 {code}", code="festival_not_found")
    return _of_county(stored[0])


def _check_settable(caller: Caller, county_code: str, code: str, year: int) -> None:
    check_year(year)
    check_county(county_code)
    check_writable(caller, f"{county_code}000000")
    if code in calendar.CODES:
        raise Conflict(f"{code} 是按历法计算的节日，不能按县设定", code="festival_code_taken")


def _days(festival: CountyFestival) -> dict[str, str]:
    """What an audit entry keeps of a county's festival."""
    return {
        "name": festival.name,
        "first_day": festival.first_day.isoformat(),
        "last_day": festival.last_day.isoformat(),
    }


async def set_county_festival(
    session: AsyncSession,
    county_code: str,
    code: str,
    year: int,
    data: CountyFestivalSet,
    caller: Caller,
) -> tuple[CountyFestival, bool]:
    """Set a county's festival of a year, whole (PUT semantics): the same county, code and
    year again replaces it. True when it was created. Audited with what it was before."""
    _check_settable(caller, county_code, code, year)
    if data.first_day.year != year:
        raise Invalid(
            f"第一天须在 {year} 年内",
            code="first_day_outside_year",
            errors=[{"field": "first_day", "message": f"must lie in {year}"}],
        )
    await lock(session, f"county_festival:{county_code}:{code}:{year}")  # two first PUTs
    stored = await _stored(session, county_code, year, code)
    before = _days(stored[0]) if stored else None
    if stored:
        festival = stored[0]
        festival.sqlmodel_update(data.model_dump())
    else:
        festival = CountyFestival(
            id=new_id(),
            county_code=county_code,
            code=code,
            year=year,
            created_at=datetime.now(UTC),
            **data.model_dump(),
        )
        session.add(festival)
    await session.flush()
    await audit.record(
        session,
        action="notify.festival.set",
        user_id=caller.user_id,
        target=festival.id,
        region_code=f"{county_code}000000",
        detail={"code": code, "year": year, "before": before, "after": _days(festival)},
    )
    return festival, before is None


async def _refuse_if_greeted(session: AsyncSession, festival: CountyFestival) -> None:
    """A festival an unfinished campaign greets for stays (409 `festival_in_use`): the
    campaign reads its name when it is planned."""
    greeting = await session.execute(
        select(Campaign.name)
        .where(
            Campaign.festival_code == festival.code,
            func.extract("year", Campaign.festival_day) == festival.year,
            Campaign.region_code.startswith(festival.county_code),  # type: ignore[attr-defined]
            Campaign.status.in_(("scheduled", "paused", "sending")),  # type: ignore[attr-defined]
        )
        .limit(1)
    )
    name = greeting.scalar()
    if name is not None:
        raise Conflict(f"活动“{name}”正为此节日问候，不能删除", code="festival_in_use")


async def delete_county_festival(
    session: AsyncSession, county_code: str, code: str, year: int, caller: Caller
) -> None:
    """Remove a county's festival of a year; audited with what it was."""
    check_year(year)
    check_county(county_code)
    check_writable(caller, f"{county_code}000000")
    stored = await _stored(session, county_code, year, code)
    if not stored:
        raise NotFound(f"{year} 年没有本县节日 {code}", code="festival_not_found")
    [festival] = stored
    await _refuse_if_greeted(session, festival)
    await session.delete(festival)
    await session.flush()
    await audit.record(
        session,
        action="notify.festival.deleted",
        user_id=caller.user_id,
        target=festival.id,
        region_code=f"{county_code}000000",
        detail={"code": code, "year": year, "before": _days(festival)},
    )
