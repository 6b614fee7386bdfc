"""Leave, training and official trips: requested by the cadre, decided by the responsible
person the county's rule names. Plain functions that take a session and never commit."""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Literal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.attendance.days import service as days
from services.attendance.leave import events
from services.attendance.leave.models import LeaveRequest
from services.attendance.leave.schemas import LeaveDecision, LeaveRequestCreate
from services.attendance.roster.models import TeamMember
from services.attendance.roster.service import answers_for, serving
from services.common import audit
from services.common.auth import Caller, check_writable, one_scoped, scoped
from services.common.db import lock
from services.common.errors import Conflict, Forbidden, Invalid, NotFound
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate

OPEN = ("pending", "approved")  # what a new request must not overlap


async def _term_of(session: AsyncSession, cadre_id: UUID, data: LeaveRequestCreate) -> TeamMember:
    """The team term the request falls in (it must lie within one)."""
    term = (
        (
            await session.execute(
                select(TeamMember)
                .where(
                    TeamMember.cadre_id == cadre_id,
                    TeamMember.term_start <= data.first_day,
                    serving(data.last_day, None),  # runs from the first day to the last
                )
                # Terms stored before the roster refused overlaps: the latest is the one in force.
                .order_by(TeamMember.term_start.desc())  # type: ignore[attr-defined]
            )
        )
        .scalars()
        .first()
    )
    if term is None:
        raise Invalid(
            "申请的日期不在本人的驻村任期之内",
            code="not_on_team",
            errors=[{"field": "first_day", "message": "the days must lie within one team term"}],
        )
    return term


async def request_leave(
    session: AsyncSession, data: LeaveRequestCreate, caller: Caller
) -> LeaveRequest:
    """A cadre asks for days away; a request overlapping one pending or approved is a 409."""
    if data.cadre_id != caller.user_id:
        raise Forbidden("只能为本人申请", code="leave_for_another")
    term = await _term_of(session, data.cadre_id, data)
    check_writable(caller, term.region_code)
    # Two requests of one cadre sent at once must not both pass the overlap check.
    await lock(session, f"leave:{data.cadre_id}")
    overlapping = select(LeaveRequest.id).where(
        LeaveRequest.cadre_id == data.cadre_id,
        LeaveRequest.status.in_(OPEN),  # type: ignore[attr-defined]
        LeaveRequest.first_day <= data.last_day,
        LeaveRequest.last_day >= data.first_day,
    )
    if (await session.execute(overlapping.limit(1))).first() is not None:
        raise Conflict("与已申请或已批准的日期重叠", code="leave_overlaps")
    leave = LeaveRequest(
        id=new_id(),
        region_code=term.region_code,
        member_id=term.id,
        team_role=term.role,
        requested_at=datetime.now(UTC),
        **data.model_dump(),
    )
    session.add(leave)
    await session.flush()
    await audit.record(
        session,
        action="attendance.leave.requested",
        target=leave.id,
        region_code=leave.region_code,
        detail={"kind": leave.kind, "first_day": str(leave.first_day), "days": _days(leave)},
    )
    await events.leave_requested(session, leave)
    return leave


def _days(leave: LeaveRequest) -> int:
    return (leave.last_day - leave.first_day).days + 1


async def get_leave(
    session: AsyncSession, leave_id: UUID, caller: Caller, *, for_update: bool = False
) -> LeaveRequest:
    missing = NotFound("请假申请不存在", code="leave_request_not_found")
    return await one_scoped(session, LeaveRequest, leave_id, caller, missing, for_update=for_update)


async def _check_approver(session: AsyncSession, leave: LeaveRequest, caller: Caller) -> None:
    """The caller holds a role the county's rule names for the requester's team role; a
    contact leader or branch secretary approves only for the cadres they answer for."""
    rule = await days.rule_for(session, leave.region_code)
    allowed = set(rule.approvers.get(leave.team_role, ())) & set(caller.roles)  # type: ignore[call-overload]
    term = await session.get(TeamMember, leave.member_id)
    assert term is not None
    if not any(answers_for(term, role, caller.user_id) for role in allowed):
        raise Forbidden("无权审批该干部的请假", code="not_the_approver")


async def decide(
    session: AsyncSession,
    leave_id: UUID,
    decision: Literal["approved", "refused"],
    data: LeaveDecision,
    caller: Caller,
) -> LeaveRequest:
    """批准 or 不批准 a pending request; approved, it explains its days in the village."""
    leave = await get_leave(session, leave_id, caller, for_update=True)
    if leave.cadre_id == caller.user_id:
        raise Forbidden("不能审批本人的申请", code="own_leave")
    await _check_approver(session, leave, caller)
    if leave.status != "pending":
        raise Conflict(f"该申请已是 {leave.status} 状态", code="leave_already_decided")
    leave.status, leave.decision_note = decision, data.note
    leave.decided_by, leave.decided_at = caller.user_id, datetime.now(UTC)
    await session.flush()
    if decision == "approved":
        await days.explain_days(session, leave)
    await audit.record(
        session,
        action=f"attendance.leave.{decision}",
        target=leave.id,
        region_code=leave.region_code,
        detail={"kind": leave.kind, "note": data.note},
    )
    await events.leave_decided(session, leave)
    return leave


async def cancel(
    session: AsyncSession, leave_id: UUID, caller: Caller, today: date
) -> LeaveRequest:
    """撤回: the cadre withdraws a request still pending, or approved and not yet begun."""
    leave = await get_leave(session, leave_id, caller, for_update=True)
    if leave.cadre_id != caller.user_id:
        raise Forbidden("只能撤回本人的申请", code="leave_of_another")
    if leave.status not in OPEN or (leave.status == "approved" and leave.first_day <= today):
        raise Conflict("该申请已无法撤回", code="leave_not_cancellable")
    if leave.status == "approved":
        await days.unexplain_days(session, leave, today)
    leave.status = "cancelled"
    await session.flush()
    await audit.record(
        session, action="attendance.leave.cancelled", target=leave.id, region_code=leave.region_code
    )
    await events.leave_decided(session, leave)
    return leave


async def approved_on(
    session: AsyncSession, cadre_ids: Iterable[UUID], day: date
) -> dict[UUID, LeaveRequest]:
    """Each cadre's approved leave, training or trip that covers `day`, if any."""
    ids = list(cadre_ids)
    if not ids:
        return {}
    statement = select(LeaveRequest).where(
        LeaveRequest.cadre_id.in_(ids),  # type: ignore[attr-defined]
        LeaveRequest.status == "approved",
        LeaveRequest.first_day <= day,
        LeaveRequest.last_day >= day,
    )
    return {leave.cadre_id: leave for leave in (await session.execute(statement)).scalars()}


async def list_leave(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    cadre_id: UUID | None = None,
    region_code: str | None = None,
    status: str | None = None,
    on: date | None = None,
) -> tuple[list[LeaveRequest], str | None]:
    statement = scoped(select(LeaveRequest), LeaveRequest.region_code, caller, within=region_code)
    if cadre_id is not None:
        statement = statement.where(LeaveRequest.cadre_id == cadre_id)
    if status is not None:
        statement = statement.where(LeaveRequest.status == status)
    if on is not None:
        statement = statement.where(LeaveRequest.first_day <= on, LeaveRequest.last_day >= on)
    return await paginate(
        session,
        statement,
        page,
        id_column=LeaveRequest.id,  # type: ignore[arg-type]
        sortable={"requested_at": LeaveRequest.requested_at, "first_day": LeaveRequest.first_day},  # type: ignore[dict-item]
        default_sort="-requested_at",
    )
