"""The work teams and the check-in areas: plain functions that take a session and never commit."""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from uuid import UUID

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.attendance.roster import events
from services.attendance.roster.models import CheckinArea, TeamMember
from services.attendance.roster.schemas import (
    CheckinAreaCreate,
    TeamMemberCreate,
    TeamMemberEnd,
    TeamRole,
)
from services.common import audit
from services.common.auth import Caller, check_writable, one_scoped, scoped
from services.common.db import lock
from services.common.errors import Conflict, Invalid, NotFound
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate
from services.common.permissions import Role


def serving(first: date, last: date | None) -> ColumnElement[bool]:
    """Terms that run on some day from `first` to `last`, both included (no `last`: from
    `first` on); `serving(day, day)` is the team of that day. A term's end is inclusive and
    an open end runs on."""
    lasts = or_(TeamMember.term_end.is_(None), TeamMember.term_end >= first)  # type: ignore[union-attr,operator]
    return lasts if last is None else and_(TeamMember.term_start <= last, lasts)


async def team_terms(
    session: AsyncSession, region_code: str, cadre_ids: Iterable[UUID], first: date, last: date
) -> dict[UUID, TeamMember]:
    """Each of the cadres' term on village `region_code`'s team at some time from `first` to
    `last` (the latest-starting one if several); a cadre on no such term is left out."""
    statement = (
        select(TeamMember)
        .where(
            TeamMember.region_code == region_code,
            TeamMember.cadre_id.in_(list(cadre_ids)),  # type: ignore[attr-defined]
            serving(first, last),
        )
        .order_by(TeamMember.term_start)  # type: ignore[arg-type]
    )
    return {term.cadre_id: term for term in (await session.execute(statement)).scalars()}


def answers_for(term: TeamMember, role: str, user_id: UUID) -> bool:
    """Whether a user in `role` answers for the cadre of `term` (盯梢负责制): a contact leader
    for the first secretary they were named to, a branch secretary for the members named to
    them; any other role by its region alone."""
    named = {
        Role.CONTACT_LEADER: term.contact_leader_id,
        Role.BRANCH_SECRETARY: term.branch_secretary_id,
    }
    return role not in named or named[Role(role)] == user_id


async def leads_team_of(session: AsyncSession, term: TeamMember, user_id: UUID, day: date) -> bool:
    """Whether `user_id` is the contact leader of the first secretary of `term`'s team on `day`
    (the contact leader looks after the whole team through its first secretary)."""
    leader = select(TeamMember.id).where(
        TeamMember.region_code == term.region_code,
        TeamMember.role == "first_secretary",
        TeamMember.contact_leader_id == user_id,
        serving(day, day),
    )
    return (await session.execute(leader.limit(1))).first() is not None


async def _check_one_first_secretary(session: AsyncSession, data: TeamMemberCreate) -> None:
    # Two first secretaries of one village added at once must not both pass the check.
    await lock(session, f"first_secretary:{data.region_code}")
    overlapping = select(TeamMember.id).where(
        TeamMember.region_code == data.region_code,
        TeamMember.role == "first_secretary",
        serving(data.term_start, data.term_end),
    )
    if (await session.execute(overlapping.limit(1))).first() is not None:
        raise Conflict("该村在这段任期内已有第一书记", code="first_secretary_overlaps")


async def _check_one_team_at_a_time(session: AsyncSession, data: TeamMemberCreate) -> None:
    """A cadre lives in one village (吃住在村): a term overlapping another of theirs, in any
    village, is refused; a move ends the first term, then begins the next."""
    await lock(session, f"cadre_terms:{data.cadre_id}")
    overlapping = select(TeamMember.id).where(
        TeamMember.cadre_id == data.cadre_id, serving(data.term_start, data.term_end)
    )
    if (await session.execute(overlapping.limit(1))).first() is not None:
        raise Conflict("该干部在这段时间已在一个工作队任职", code="cadre_on_another_team")


async def assign_member(
    session: AsyncSession, data: TeamMemberCreate, caller: Caller
) -> TeamMember:
    """Put a cadre on a village's team for a term: one team at a time for a cadre, one first
    secretary per village at a time."""
    check_writable(caller, data.region_code)
    await _check_one_team_at_a_time(session, data)
    if data.role == "first_secretary":
        await _check_one_first_secretary(session, data)
    member = TeamMember(id=new_id(), created_at=datetime.now(UTC), **data.model_dump())
    session.add(member)
    await session.flush()
    await audit.record(
        session,
        action="attendance.roster.assigned",
        user_id=caller.user_id,
        target=member.id,
        region_code=member.region_code,
        detail={"role": member.role, "cadre_id": str(member.cadre_id)},
    )
    await events.roster_changed(session, member, "assigned")
    return member


async def get_member(session: AsyncSession, member_id: UUID, caller: Caller) -> TeamMember:
    """The term, if it exists within the caller's region (outside it: as if it did not)."""
    missing = NotFound("工作队成员记录不存在", code="team_member_not_found")
    return await one_scoped(session, TeamMember, member_id, caller, missing)


async def end_term(
    session: AsyncSession, member_id: UUID, data: TeamMemberEnd, caller: Caller
) -> TeamMember:
    """End a term on its last day, with why; the row stays as history."""
    member = await get_member(session, member_id, caller)
    if member.end_cause is not None:
        raise Conflict("该任期已经结束", code="term_already_ended")
    if data.last_day < member.term_start or (
        member.term_end is not None and data.last_day > member.term_end
    ):
        raise Invalid(
            "任期最后一天须在任期之内",
            code="last_day_outside_term",
            errors=[{"field": "last_day", "message": "must lie within the term"}],
        )
    member.term_end = data.last_day
    member.end_cause = data.cause
    member.end_reason = data.reason
    member.ended_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        action="attendance.roster.ended",
        user_id=caller.user_id,
        target=member.id,
        region_code=member.region_code,
        detail={"cause": data.cause, "last_day": data.last_day.isoformat()},
    )
    await events.roster_changed(session, member, "ended")
    return member


async def list_members(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    region_code: str | None = None,
    cadre_id: UUID | None = None,
    role: TeamRole | None = None,
    on: date | None = None,
) -> tuple[list[TeamMember], str | None]:
    """The terms in the caller's region; `on` keeps those that include that day (who was on
    village X's team on day D, or which team cadre C was on)."""
    statement = scoped(select(TeamMember), TeamMember.region_code, caller, within=region_code)
    if cadre_id is not None:
        statement = statement.where(TeamMember.cadre_id == cadre_id)
    if role is not None:
        statement = statement.where(TeamMember.role == role)
    if on is not None:
        statement = statement.where(serving(on, on))
    return await paginate(
        session,
        statement,
        page,
        id_column=TeamMember.id,  # type: ignore[arg-type]
        sortable={"term_start": TeamMember.term_start, "created_at": TeamMember.created_at},  # type: ignore[dict-item]
        default_sort="-term_start",
    )


async def add_area(session: AsyncSession, data: CheckinAreaCreate, caller: Caller) -> CheckinArea:
    check_writable(caller, data.region_code)
    area = CheckinArea(
        id=new_id(),
        region_code=data.region_code,
        name=data.name,
        kind=data.geometry.kind,
        geometry=data.geometry.model_dump(mode="json"),
        created_at=datetime.now(UTC),
    )
    session.add(area)
    await session.flush()
    await audit.record(
        session,
        action="attendance.checkin_area.added",
        user_id=caller.user_id,
        target=area.id,
        region_code=area.region_code,
        detail={"kind": area.kind, "name": area.name},
    )
    return area


async def get_area(session: AsyncSession, area_id: UUID, caller: Caller) -> CheckinArea:
    missing = NotFound("签到范围不存在", code="checkin_area_not_found")
    return await one_scoped(session, CheckinArea, area_id, caller, missing)


async def retire_area(session: AsyncSession, area_id: UUID, caller: Caller) -> CheckinArea:
    """Stop an area counting for new check-ins; it stays, for judging the past ones."""
    area = await get_area(session, area_id, caller)
    if area.retired_at is not None:
        raise Conflict("该签到范围已停用", code="checkin_area_already_retired")
    area.retired_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        action="attendance.checkin_area.retired",
        user_id=caller.user_id,
        target=area.id,
        region_code=area.region_code,
    )
    return area


async def list_areas(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    region_code: str | None = None,
    active: bool | None = None,
) -> tuple[list[CheckinArea], str | None]:
    statement = scoped(select(CheckinArea), CheckinArea.region_code, caller, within=region_code)
    if active is not None:
        retired = CheckinArea.retired_at.is_not(None)  # type: ignore[union-attr]
        statement = statement.where(~retired if active else retired)
    return await paginate(
        session,
        statement,
        page,
        id_column=CheckinArea.id,  # type: ignore[arg-type]
        sortable={"created_at": CheckinArea.created_at},  # type: ignore[dict-item]
        default_sort="-created_at",
    )
