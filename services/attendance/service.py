"""Attendance's domain logic: plain functions that take a session and never commit."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.attendance import events, geo
from services.attendance.days import service as days
from services.attendance.days.schemas import AttendanceRuleBase
from services.attendance.models import Checkin
from services.attendance.roster.schemas import CircleArea, PolygonArea
from services.attendance.schemas import (
    CheckinBase,
    CheckinBatch,
    CheckinCreate,
    CheckinOutcome,
    CheckinPublic,
    CheckinReview,
    ItemProblem,
)
from services.common import audit
from services.common.auth import Caller, check_writable, one_scoped, scoped
from services.common.db import driver
from services.common.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Problem,
    database_problem,
    invalid,
)
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate
from services.common.regions import region_prefix

log = logging.getLogger(__name__)

_COLUMNS = (
    "id, client_id, cadre_id, region_code, kind, latitude, longitude, coordinate_system, "
    "wgs84_latitude, wgs84_longitude, accuracy_m, device, mock_location, client_time, "
    "recorded_at, inside, distance_m, flags, photo_sha256, sent_at"
)
# The check-in is the hottest write of the system (the morning peak): raw asyncpg, one round
# trip, in the request's transaction. bench/README.md has the measurements behind this. Its
# day in the village (the read model) and its audit entry are folded into the same statement,
# and written only for a new check-in.
_INSERT_CHECKIN = (
    f"WITH stored AS (INSERT INTO checkin ({_COLUMNS}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, 21))}) "
    f"ON CONFLICT (client_id) DO NOTHING RETURNING {_COLUMNS}), "
    f"counted AS ({days.count_checkin_from('stored', timezone_param=21)}), "
    f"audited AS ({audit.insert_from('stored', first=22)}) "
    f"SELECT {_COLUMNS} FROM stored"
)
_STORED_CHECKIN = (
    f"SELECT {_COLUMNS}, review, reviewed_by, reviewed_at, review_note FROM checkin "
    "WHERE client_id = $1"
)
# What a check-in is judged against, in one round trip: the village's areas in force, where
# and when the cadre checked in before it (by the phone's time: batches come late), the
# thresholds of the county's rule (none set: the defaults), and its photo if it names one:
# stored within the check-in's region, on a check-in already.
_JUDGING = (
    "SELECT (SELECT coalesce(json_agg(geometry), '[]'::json) FROM checkin_area "
    "WHERE region_code = $1 AND retired_at IS NULL), "
    "(SELECT json_build_array(wgs84_latitude, wgs84_longitude, client_time) FROM checkin "
    "WHERE cadre_id = $2 AND client_time < $3 ORDER BY client_time DESC LIMIT 1), "
    "(SELECT json_build_array(max_travel_kmh, max_clock_ahead_minutes) FROM attendance_rule "
    "WHERE region_code = left($1, 6) || '000000'), "
    "EXISTS (SELECT 1 FROM photo WHERE sha256 = $4 AND starts_with(region_code, $5)), "
    "EXISTS (SELECT 1 FROM checkin WHERE photo_sha256 = $4)"
)
_DEFAULT_RULE = AttendanceRuleBase()
# Check-ins nearer each other than GPS jitter are never impossible travel, however close in time.
MIN_TRAVEL_M = 2_000.0


@dataclass(frozen=True)
class Judged:
    """判定: where the check-in was in WGS-84, whether inside the village's areas, and flags."""

    position: geo.Position
    inside: bool | None
    distance_m: float | None
    flags: list[str]


async def judge_checkin(
    connection: asyncpg.Connection, data: CheckinCreate, received_at: datetime
) -> Judged:
    """Convert the position to WGS-84, refuse one outside China (422) or a photo not stored
    within the check-in's region (422), and judge it: inside or outside the areas (and how
    far), impossible travel from the cadre's previous check-in, a phone clock ahead of the
    server's, the phone's own mock-location flag, a photo already on another check-in; the
    thresholds are the county's rule's."""
    try:
        position = geo.to_wgs84(data.latitude, data.longitude, data.coordinate_system)
    except ValueError:  # a Baidu position at the very edge of the globe converts off it
        raise Invalid("签到位置无法换算", code="checkin_position_invalid") from None
    if not geo.in_china(position):
        raise Invalid("签到位置不在中国境内", code="checkin_outside_china")
    areas, previous, thresholds, photo_stored, photo_used = await connection.fetchrow(
        _JUDGING,
        data.region_code,
        data.cadre_id,
        data.client_time,
        data.photo_sha256,
        region_prefix(data.region_code),
    )
    if data.photo_sha256 is not None and not photo_stored:
        raise Invalid(
            "签到照片不存在：请先上传照片",
            code="photo_not_found",
            errors=[{"field": "photo_sha256", "message": "no such photo in the check-in's region"}],
        )
    max_kmh, clock_minutes = thresholds or (
        _DEFAULT_RULE.max_travel_kmh,
        _DEFAULT_RULE.max_clock_ahead_minutes,
    )
    flags = []
    inside = distance = None
    # JSON arrives decoded: SQLAlchemy's adapter gives asyncpg its json codec.
    stored_areas = _areas(areas)
    if stored_areas:
        judgement = geo.judge(position, stored_areas)
        inside, distance = judgement.inside, round(judgement.distance_m, 1)
        if not inside:
            flags.append("outside_area")
    else:
        flags.append("no_area")
    if previous is not None:
        lat, lon, at = previous
        before, then = geo.Position(lat, lon), datetime.fromisoformat(at)
        if geo.distance_m(before, position) > MIN_TRAVEL_M and (
            geo.implied_speed_kmh(before, then, position, data.client_time) > max_kmh
        ):
            flags.append("impossible_travel")
    # The phone's clock: as it sent the check-in, if it says (a queued one comes days after
    # it was made, honestly); else as it made it, which can only be told ahead.
    clock, limit = data.sent_at or data.client_time, timedelta(minutes=clock_minutes)
    if clock > received_at + limit:
        flags.append("clock_ahead")
    elif data.sent_at is not None and data.sent_at < received_at - limit:
        flags.append("clock_behind")
    if data.mock_location:
        flags.append("mock_location")
    if photo_used:  # the same bytes again: a colleague's photo, or an old one of one's own
        flags.append("photo_reused")
    return Judged(position, inside, distance, flags)


def _areas(stored: list[dict[str, Any]]) -> list[geo.Area]:
    """The stored check-in areas (roster/schemas.py) as the geofence takes them. One that no
    longer reads (written before a rule changed) is logged and left out, rather than making
    every check-in of its village fail."""
    areas = []
    for geometry in stored:
        try:
            model = CircleArea if geometry.get("kind") == "circle" else PolygonArea
            areas.append(model.model_validate(geometry).area())
        except ValueError as exc:
            log.error("a check-in area no longer reads; left out of the judgement: %s", exc)
    return areas


def check_may_record(caller: Caller, data: CheckinCreate) -> None:
    """A cadre checks in for themselves, within their region (403 otherwise)."""
    check_writable(caller, data.region_code)
    if data.cadre_id != caller.user_id:
        raise Forbidden("只能为本人签到", code="checkin_for_another")


async def record_batch(
    session: AsyncSession, batch: CheckinBatch, caller: Caller, timezone: str
) -> list[CheckinOutcome]:
    """离线签到: each item checked and stored on its own (a savepoint each), answered as a
    single request would be; resending the batch after a timeout stores nothing twice."""
    connection = await driver(session)
    outcomes = []
    for item in batch.items:
        sent = item.get("client_id") if isinstance(item, dict) else None
        client_id = sent if isinstance(sent, str) else None
        if isinstance(item, dict) and batch.sent_at is not None:
            item = {"sent_at": batch.sent_at, **item}
        try:
            data = CheckinCreate.model_validate(item)
            check_may_record(caller, data)
            async with connection.transaction():  # a savepoint: a refused item leaves no trace
                checkin, created = await record_checkin(session, data, timezone)
        except (ValidationError, asyncpg.DataError, Problem) as exc:
            problem = _problem_of(exc)
            refused = ItemProblem(code=problem.code, detail=problem.detail, errors=problem.errors)
            outcomes.append(
                CheckinOutcome(client_id=client_id, status=problem.status, problem=refused)
            )
        else:
            status = 201 if created else 200
            outcomes.append(CheckinOutcome(client_id=client_id, status=status, checkin=checkin))
    return outcomes


def _problem_of(exc: Exception) -> Problem:
    if isinstance(exc, ValidationError):
        return invalid(exc.errors())
    if isinstance(exc, asyncpg.DataError):  # a value the database cannot take
        return database_problem(exc)
    assert isinstance(exc, Problem)
    return exc


async def record_checkin(
    session: AsyncSession, data: CheckinCreate, timezone: str
) -> tuple[CheckinPublic, bool]:
    """Store a check-in, its day in the village (by the county's `timezone`) and its event; a
    resent `client_id` returns the stored one (False)."""
    connection = await driver(session)
    checkin_id, received_at = new_id(), datetime.now(UTC)
    judged = await judge_checkin(connection, data, received_at)
    row = await connection.fetchrow(
        _INSERT_CHECKIN,
        checkin_id,
        data.client_id,
        data.cadre_id,
        data.region_code,
        data.kind,
        data.latitude,
        data.longitude,
        data.coordinate_system,
        judged.position.lat,
        judged.position.lon,
        data.accuracy_m,
        data.device,
        data.mock_location,
        data.client_time,
        received_at,
        judged.inside,
        judged.distance_m,
        judged.flags,
        data.photo_sha256,
        data.sent_at,
        timezone,
        *audit.values(
            action="attendance.checkin.recorded", target=checkin_id, region_code=data.region_code
        ),
    )
    if row is not None:
        checkin = CheckinPublic.model_validate(dict(row))
        await events.checkin_recorded(session, checkin)
        return checkin, True
    stored = CheckinPublic.model_validate(
        dict(await connection.fetchrow(_STORED_CHECKIN, data.client_id))
    )
    alike = set(CheckinBase.model_fields)  # sent again, it was sent at another time
    if stored.model_dump(include=alike) != data.model_dump(include=alike):
        raise Conflict("该 client_id 已用于另一条签到", code="client_id_reused")
    return stored, False


async def get_checkin(session: AsyncSession, checkin_id: UUID, caller: Caller) -> Checkin:
    """The check-in, if it exists within the caller's region (outside it: as if it did not)."""
    missing = NotFound("签到记录不存在", code="checkin_not_found")
    return await one_scoped(session, Checkin, checkin_id, caller, missing)


async def review_checkin(
    session: AsyncSession, checkin_id: UUID, decision: CheckinReview, caller: Caller, timezone: str
) -> Checkin:
    """审核: accept a check-in, or reject it so it no longer counts; a later decision replaces
    an earlier one, each audited and published. Nobody reviews their own."""
    missing = NotFound("签到记录不存在", code="checkin_not_found")
    checkin = await one_scoped(session, Checkin, checkin_id, caller, missing, for_update=True)
    if checkin.cadre_id == caller.user_id:
        raise Forbidden("不能审核本人的签到", code="own_checkin")
    if (checkin.review, checkin.review_note) == (decision.decision, decision.note):
        return checkin  # the same decision again: nothing new to record or tell
    await days.recount_reviewed(session, checkin.id, checkin.review, decision.decision, timezone)
    checkin.review, checkin.review_note = decision.decision, decision.note
    checkin.reviewed_by, checkin.reviewed_at = caller.user_id, datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        action="attendance.checkin.reviewed",
        target=checkin.id,
        region_code=checkin.region_code,
        detail={"decision": decision.decision, "flags": checkin.flags},
    )
    await events.checkin_reviewed(session, checkin)
    return checkin


async def list_checkins(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    cadre_id: UUID | None = None,
    region_code: str | None = None,
) -> tuple[list[Checkin], str | None]:
    statement = scoped(select(Checkin), Checkin.region_code, caller, within=region_code)
    if cadre_id is not None:
        statement = statement.where(Checkin.cadre_id == cadre_id)
    return await paginate(
        session,
        statement,
        page,
        id_column=Checkin.id,  # type: ignore[arg-type]
        sortable={"recorded_at": Checkin.recorded_at, "client_time": Checkin.client_time},  # type: ignore[dict-item]
        default_sort="-recorded_at",
    )
