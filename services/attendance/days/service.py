"""Days in the village: the counties' rules and the day-status read model (cadre_day), kept
up to date as check-ins, reviews and leave arrive. Plain functions that never commit."""

from datetime import UTC, date, datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.attendance.days.models import AttendanceRule, CadreDay
from services.attendance.days.schemas import AttendanceRulePublic, AttendanceRuleSet
from services.attendance.leave.models import LeaveRequest
from services.common import audit
from services.common.auth import Caller, check_writable, scoped
from services.common.db import lock
from services.common.errors import Invalid, NotFound
from services.common.pagination import PageParams, paginate
from services.common.regions import county_of

# A check-in that counts towards a day in the village: inside the village's areas, or in a
# village that has none to judge by (flagged `no_area`); not rejected. A suspicious one
# (every flag but `no_area`) counts until a reviewer rejects it, and is counted as flagged.
COUNTS = "inside IS NOT FALSE"
FLAGGED = "cardinality(array_remove(flags, 'no_area')) > 0"


def count_checkin_from(relation: str, *, timezone_param: int) -> str:
    """An upsert of the day of each new check-in in `relation` (a CTE of inserted check-ins),
    folded into the check-in's own statement: its day in the county's time zone (parameter
    $timezone_param), by the phone's time, since an offline batch arrives days later."""
    return (
        "INSERT INTO cadre_day (cadre_id, day, region_code, present_checkins, flagged_checkins) "
        f"SELECT cadre_id, (client_time AT TIME ZONE ${timezone_param}::text)::date, region_code, "
        f"({COUNTS})::int, ({FLAGGED})::int FROM {relation} "
        "ON CONFLICT (cadre_id, day) DO UPDATE SET "
        "present_checkins = cadre_day.present_checkins + excluded.present_checkins, "
        "flagged_checkins = cadre_day.flagged_checkins + excluded.flagged_checkins"
    )


_RECOUNT = text(
    f"""
    UPDATE cadre_day SET present_checkins = greatest(present_checkins + :change, 0)
    FROM checkin
    WHERE checkin.id = :checkin_id AND {COUNTS.replace("inside", "checkin.inside")}
      AND cadre_day.cadre_id = checkin.cadre_id
      AND cadre_day.day = (checkin.client_time AT TIME ZONE :tz)::date
    """
)


async def recount_reviewed(
    session: AsyncSession, checkin_id: UUID, before: str, after: str, timezone: str
) -> None:
    """A check-in rejected no longer counts for its day; one accepted after a rejection does
    again."""
    change = (after != "rejected") - (before != "rejected")
    if change:
        await session.execute(
            _RECOUNT, {"change": change, "checkin_id": checkin_id, "tz": timezone}
        )


_EXPLAIN = text(
    """
    INSERT INTO cadre_day (cadre_id, day, region_code, absence_kind)
    SELECT :cadre_id, day::date, :region_code, :kind
    FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') AS day
    ON CONFLICT (cadre_id, day) DO UPDATE SET absence_kind = excluded.absence_kind
    """
)
_UNEXPLAIN = text(
    "UPDATE cadre_day SET absence_kind = NULL "
    "WHERE cadre_id = :cadre_id AND day BETWEEN :first AND :last"
)
# A day still ahead with nothing in it is no day yet (the daily job makes it when it comes).
_FORGET = text(
    "DELETE FROM cadre_day WHERE cadre_id = :cadre_id AND day BETWEEN :first AND :last "
    "AND day >= :today AND absence_kind IS NULL AND present_checkins = 0 "
    "AND flagged_checkins = 0"
)


async def explain_days(session: AsyncSession, leave: LeaveRequest) -> None:
    """Approved leave, training or a trip explains each of its days."""
    await session.execute(
        _EXPLAIN,
        {
            "cadre_id": leave.cadre_id,
            "region_code": leave.region_code,
            "kind": leave.kind,
            "first": leave.first_day,
            "last": leave.last_day,
        },
    )


async def unexplain_days(session: AsyncSession, leave: LeaveRequest, today: date) -> None:
    """Leave withdrawn: its days are what their check-ins make them again; those still ahead
    with nothing in them are no days yet."""
    params = {"cadre_id": leave.cadre_id, "first": leave.first_day, "last": leave.last_day}
    await session.execute(_UNEXPLAIN, params)
    await session.execute(_FORGET, {**params, "today": today})


async def rule_for(session: AsyncSession, region_code: str) -> AttendanceRulePublic:
    """The rule of the county `region_code` lies in: its own, or the defaults."""
    county = county_of(region_code)
    stored = await session.get(AttendanceRule, county)
    if stored is None:
        return AttendanceRulePublic(region_code=county, is_default=True)
    return AttendanceRulePublic.model_validate(
        {**stored.model_dump(), "is_default": False}, from_attributes=False
    )


def _check_county(region_code: str) -> None:
    if region_code != county_of(region_code):
        raise Invalid(
            "考勤规则按县设定，须为县级区划代码",
            code="not_a_county",
            errors=[{"field": "region_code", "message": "a county's code: 6 digits then 000000"}],
        )


async def get_rule(session: AsyncSession, region_code: str, caller: Caller) -> AttendanceRulePublic:
    """A county's rule, for anyone whose region lies in the county or covers it."""
    _check_county(region_code)
    county = region_code[:6]
    if not (caller.scope.startswith(county) or county.startswith(caller.scope)):
        raise NotFound("考勤规则不存在", code="rule_not_found")
    return await rule_for(session, region_code)


async def set_rule(
    session: AsyncSession, region_code: str, data: AttendanceRuleSet, caller: Caller
) -> AttendanceRulePublic:
    """Set a county's rule, whole; audited with what it was before."""
    _check_county(region_code)
    check_writable(caller, region_code)
    await lock(session, f"attendance_rule:{region_code}")  # two first settings at once
    before = await rule_for(session, region_code)
    values = {
        **data.model_dump(mode="json"),
        "region_code": region_code,
        "updated_at": datetime.now(UTC),
        "updated_by": caller.user_id,
    }
    await session.merge(AttendanceRule(**values))
    await session.flush()
    await audit.record(
        session,
        action="attendance.rule.set",
        user_id=caller.user_id,
        target=region_code,
        region_code=region_code,
        detail={
            "before": before.model_dump(mode="json", include=set(AttendanceRuleSet.model_fields)),
            "after": data.model_dump(mode="json"),
        },
    )
    return await rule_for(session, region_code)


async def list_days(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    first: date,
    last: date,
    cadre_id: UUID | None = None,
    region_code: str | None = None,
    status: str | None = None,
) -> tuple[list[CadreDay], str | None]:
    """The cadres' days from `first` to `last` in the caller's region."""
    statement = scoped(select(CadreDay), CadreDay.region_code, caller, within=region_code).where(
        CadreDay.day >= first,  # type: ignore[operator]
        CadreDay.day <= last,  # type: ignore[operator]
    )
    if cadre_id is not None:
        statement = statement.where(CadreDay.cadre_id == cadre_id)
    if status is not None:
        statement = statement.where(CadreDay.status == status)
    return await paginate(
        session,
        statement,
        page,
        id_column=CadreDay.cadre_id,  # type: ignore[arg-type]
        sortable={"day": CadreDay.day},  # type: ignore[dict-item]
        default_sort="day",
    )
