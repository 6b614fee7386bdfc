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
