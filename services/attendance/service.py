"""Attendance's domain logic: plain functions that take a session and never commit."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.attendance import events
from services.attendance.models import Checkin
from services.attendance.schemas import CheckinCreate
from services.common.errors import Conflict, NotFound
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate


async def record_checkin(session: AsyncSession, data: CheckinCreate) -> tuple[Checkin, bool]:
    """Store a check-in and its event; a resent `client_id` returns the stored one (False)."""
    values = data.model_dump()
    inserted = await session.execute(
        insert(Checkin)
        .values(id=new_id(), recorded_at=datetime.now(UTC), **values)
        .on_conflict_do_nothing(index_elements=["client_id"])
        .returning(Checkin)
    )
    checkin = inserted.scalar_one_or_none()
    if checkin is not None:
        await events.checkin_recorded(session, checkin)
        return checkin, True
    stored = (
        await session.execute(select(Checkin).where(Checkin.client_id == data.client_id))
    ).scalar_one()
    if _differs(stored, values):
        raise Conflict("该 client_id 已用于另一条签到", code="client_id_reused")
    return stored, False


def _differs(stored: Checkin, values: dict[str, Any]) -> bool:
    return any(getattr(stored, key) != value for key, value in values.items())


async def get_checkin(session: AsyncSession, checkin_id: UUID) -> Checkin:
    checkin = await session.get(Checkin, checkin_id)
    if checkin is None:
        raise NotFound("签到记录不存在", code="checkin_not_found")
    return checkin


async def list_checkins(
    session: AsyncSession,
    page: PageParams,
    *,
    cadre_id: UUID | None = None,
    region_code: str | None = None,
) -> tuple[list[Checkin], str | None]:
    statement = select(Checkin)
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
