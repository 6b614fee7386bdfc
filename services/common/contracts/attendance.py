"""Events the attendance service publishes (考勤)."""

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from services.common.events import EventData


class CheckinReviewed(EventData):
    """签到审核: a reviewer accepted or rejected a check-in (a rejected one no longer counts)."""

    type = "attendance.checkin.reviewed"
    version = 1

    checkin_id: UUID
    cadre_id: UUID
    region_code: str
    client_time: datetime
    decision: Literal["accepted", "rejected"]
    reviewer_id: UUID


class CheckinRecorded(EventData):
    """签到: a cadre checked in or out in a village."""

    type = "attendance.checkin.recorded"
    version = 1

    checkin_id: UUID
    cadre_id: UUID
    region_code: str
    kind: Literal["checkin", "checkout"]
    client_time: datetime
    recorded_at: datetime
    # The judgement (added within v1, so optional): inside the village's areas (None: it has
    # none), and what looked wrong; a flagged check-in counts until a reviewer rejects it.
    inside: bool | None = None
    flags: tuple[str, ...] = ()


class RosterChanged(EventData):
    """工作队变动: a cadre was assigned to a village's work team, or their term there ended."""

    type = "attendance.roster.changed"
    version = 1

    member_id: UUID
    cadre_id: UUID
    region_code: str
    role: Literal["first_secretary", "team_leader", "member"]
    unit_name: str
    unit_code: str | None
    term_start: date
    term_end: date | None
    contact_leader_id: UUID | None
    branch_secretary_id: UUID | None
    change: Literal["assigned", "ended"]
    end_cause: Literal["recalled", "replaced", "completed"] | None = None


class LeaveRequested(EventData):
    """请假申请: a cadre asked for days away from the village (leave, training, a trip)."""

    type = "attendance.leave.requested"
    version = 1

    leave_id: UUID
    cadre_id: UUID
    region_code: str
    team_role: Literal["first_secretary", "team_leader", "member"]
    kind: Literal["leave", "training", "trip"]
    first_day: date
    last_day: date


class LeaveApproved(LeaveRequested):
    """准假: the responsible person approved it; its days are explained."""

    type = "attendance.leave.approved"
    decided_by: UUID


class LeaveRefused(LeaveRequested):
    """不准假: the responsible person refused it."""

    type = "attendance.leave.refused"
    decided_by: UUID


class LeaveCancelled(LeaveRequested):
    """撤回: the cadre withdrew it (before it began); its days are what check-ins make them."""

    type = "attendance.leave.cancelled"


class Responsible(EventData):
    """Who answers for a cadre's presence (盯梢负责制): the contact leader of a first
    secretary, the branch secretary of a member, and the unit that sent them."""

    member_id: UUID
    team_role: Literal["first_secretary", "team_leader", "member"]
    contact_leader_id: UUID | None
    branch_secretary_id: UUID | None
    unit_name: str
    unit_code: str | None


class AbsenceDetected(Responsible):
    """连续缺勤: a cadre was absent without leave for `days` days in a row up to `last_day`;
    published when the run reaches the county's threshold and at each multiple of it."""

    type = "attendance.absence.detected"
    version = 1

    cadre_id: UUID
    region_code: str
    first_day: date
    last_day: date
    days: int


class MonthlyMinimumMissed(Responsible):
    """在村天数不足: a cadre's month counted fewer days in the village than the county's rule
    asks of their term's days in it."""

    type = "attendance.monthly_minimum.missed"
    version = 1

    cadre_id: UUID
    region_code: str
    month: str  # YYYY-MM
    counted: int
    required: int
