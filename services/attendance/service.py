"""Attendance's domain logic: plain functions that take a session and never commit."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.attendance import events
from services.attendance.models import Checkin
from services.attendance.schemas import CheckinCreate, CheckinOutcome, CheckinPublic, ItemProblem
from services.common import audit
from services.common.auth import Caller, check_writable, scoped
from services.common.db import driver
from services.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    database_problem,
    invalid,
)
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate

_COLUMNS = (
    "id, client_id, cadre_id, region_code, kind, latitude, longitude, accuracy_m, "
    "client_time, recorded_at"
)
# The check-in is the hottest write of the system (the morning peak): raw asyncpg, one round
# trip, in the request's transaction. bench/README.md has the measurements behind this. Its
# audit entry is folded into the same statement, and written only for a new check-in.
_INSERT_CHECKIN = (
    f"WITH stored AS (INSERT INTO checkin ({_COLUMNS}) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    f"ON CONFLICT (client_id) DO NOTHING RETURNING {_COLUMNS}), "
    f"audited AS ({audit.insert_from('stored', first=11)}) "
    f"SELECT {_COLUMNS} FROM stored"
)
_STORED_CHECKIN = f"SELECT {_COLUMNS} FROM checkin WHERE client_id = $1"


def check_may_record(caller: Caller, data: CheckinCreate) -> None:
    """A cadre checks in for themselves, within their region (403 otherwise)."""
    check_writable(caller, data.region_code)
    if data.cadre_id != caller.user_id:
        raise Forbidden("只能为本人签到", code="checkin_for_another")


async def record_batch(
    session: AsyncSession, items: list[dict[str, Any]], caller: Caller
) -> list[CheckinOutcome]:
    """离线签到: each item checked and stored on its own (a savepoint each), answered as a
    single request would be; resending the batch after a timeout stores nothing twice."""
    connection = await driver(session)
    outcomes = []
    for item in items:
        sent = item.get("client_id")
        client_id = sent if isinstance(sent, str) else None
        try:
            data = CheckinCreate.model_validate(item)
            check_may_record(caller, data)
            async with connection.transaction():  # a savepoint: a refused item leaves no trace
                checkin, created = await record_checkin(session, data)
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


async def record_checkin(session: AsyncSession, data: CheckinCreate) -> tuple[CheckinPublic, bool]:
    """Store a check-in and its event; a resent `client_id` returns the stored one (False)."""
    connection = await driver(session)
    checkin_id = new_id()
    row = await connection.fetchrow(
        _INSERT_CHECKIN,
        checkin_id,
        data.client_id,
        data.cadre_id,
        data.region_code,
        data.kind,
        data.latitude,
        data.longitude,
        data.accuracy_m,
        data.client_time,
        datetime.now(UTC),
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
    if stored.model_dump(include=set(CheckinCreate.model_fields)) != data.model_dump():
        raise Conflict("该 client_id 已用于另一条签到", code="client_id_reused")
    return stored, False


async def get_checkin(session: AsyncSession, checkin_id: UUID, caller: Caller) -> Checkin:
    """The check-in, if it exists within the caller's region (outside it: as if it did not)."""
    statement = scoped(select(Checkin).where(Checkin.id == checkin_id), Checkin.region_code, caller)
    checkin = (await session.execute(statement)).scalar_one_or_none()
    if checkin is None:
        raise NotFound("签到记录不存在", code="checkin_not_found")
    return checkin


async def list_checkins(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    cadre_id: UUID | None = None,
    region_code: str | None = None,
) -> tuple[list[Checkin], str | None]:
    statement = scoped(select(Checkin), Checkin.region_code, caller)
    if cadre_id is not None:
        statement = statement.where(Checkin.cadre_id == cadre_id)
    if region_code is not None:
        statement = statement.where(Checkin.region_code.startswith(region_code))  # type: ignore[attr-defined]
    return await paginate(
        session,
        statement,
        page,
        id_column=Checkin.id,  # type: ignore[arg-type]
        sortable={"recorded_at": Checkin.recorded_at, "client_time": Checkin.client_time},  # type: ignore[dict-item]
        default_sort="-recorded_at",
    )
