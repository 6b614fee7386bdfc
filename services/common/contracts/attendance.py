"""Events the attendance service publishes (考勤)."""

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

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


class YearlyMinimumMissed(Responsible):
    """全年在村天数不足: a cadre's year counted fewer days in the village than the county's
    yearly rule (e.g. two thirds of the year) asks of their term's days in it."""

    type = "attendance.yearly_minimum.missed"
    version = 1

    cadre_id: UUID
    region_code: str
    year: str  # YYYY
    counted: int
    required: int


TeamRole = Literal["first_secretary", "team_leader", "member"]
AbsenceKind = Literal["leave", "training", "trip"]
# How much of the time the team was in the village, as a conduct supervisor saw it:
# 一直在村 / 大多在村 / 很少在村 / 从未见到.
Presence = Literal["always", "mostly", "rarely", "never"]


class SpotCheckAbsentee(BaseModel):
    """A cadre not found at a spot check with nothing approved to explain it, and who answers
    for them: the contact leader (a first secretary's), the branch secretary (a member's),
    the dispatching unit (派出单位)."""

    model_config = ConfigDict(frozen=True)

    cadre_id: UUID
    member_id: UUID  # the team term
    role: TeamRole
    unit_name: str
    unit_code: str | None
    contact_leader_id: UUID | None
    branch_secretary_id: UUID | None
    note: str | None  # the inspector's, e.g. what the villagers said


class SpotCheckExcused(BaseModel):
    """A cadre not found at a spot check, on approved leave, training or an official trip."""

    model_config = ConfigDict(frozen=True)

    cadre_id: UUID
    kind: AbsenceKind
    leave_request_id: UUID


class SpotCheckRecorded(EventData):
    """明察暗访: an inspector visited a village unannounced and recorded who was found. `absent`
    is who was not found without approved leave, training or a trip covering the day, each
    with the people to alert; `excused` who was away with approval; `found` who was there."""

    type = "attendance.spotcheck.recorded"
    version = 1

    spot_check_id: UUID
    region_code: str
    visited_at: datetime
    visit_day: date  # the county's calendar day of the visit
    inspector_id: UUID
    found: tuple[UUID, ...]
    absent: tuple[SpotCheckAbsentee, ...]
    excused: tuple[SpotCheckExcused, ...]


class ConductReported(EventData):
    """驻村风气监督员报告: a village's conduct supervisor reported on its team's presence and
    conduct over a period, naming the cadres of concern (if any)."""

    type = "attendance.conduct.reported"
    version = 1

    report_id: UUID
    region_code: str
    supervisor_id: UUID
    first_day: date
    last_day: date
    presence: Presence
    named_cadre_ids: tuple[UUID, ...]


class TalkEscalated(EventData):
    """谈心谈话问题上报: a problem a cadre raised in a heart-to-heart talk, which the contact
    leader could not solve, was escalated to the township party committee (乡镇党委) of
    `township_code`."""

    type = "attendance.talk.escalated"
    version = 1

    talk_id: UUID
    cadre_id: UUID
    region_code: str  # the cadre's village
    township_code: str  # the township's 12-digit code: the village's first 9 digits + 000
    talked_on: date
    held_by: UUID
    unsolved_problems: tuple[str, ...]
    note: str
    escalated_by: UUID
