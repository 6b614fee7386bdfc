from datetime import date, datetime
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.attendance.days.rules import AbsenceKind, Rule
from services.attendance.roster.schemas import TeamRole
from services.common.permissions import ROLE_PERMISSIONS, Permission, Role

DayStatus = Literal["present", "leave", "training", "trip", "absent"]
MAX_ALERT_DELAY_DAYS = 7
Approvers = Annotated[list[Role], Field(min_length=1, max_length=len(Role))]
# Who approves whose leave, by the requester's role on the team: the township for first
# secretaries (DOMAIN.md), the team's first secretary or the township for the others.
DEFAULT_APPROVERS: dict[TeamRole, list[Role]] = {
    "first_secretary": [Role.TOWNSHIP_OFFICER],
    "team_leader": [Role.FIRST_SECRETARY, Role.TOWNSHIP_OFFICER],
    "member": [Role.FIRST_SECRETARY, Role.TOWNSHIP_OFFICER],
}


class AttendanceRuleBase(BaseModel):
    min_days_per_month: int = Field(default=20, ge=0, le=31, description="每月最少在村天数")
    min_days_per_year: int | None = Field(
        default=None, ge=0, le=366, description="每年最少在村天数（可空）"
    )
    counted: list[AbsenceKind] = Field(
        default=[AbsenceKind.TRAINING, AbsenceKind.TRIP],
        description="计入在村天数的已批准事项（默认培训、公出；请假不计）",
    )
    absence_alert_days: int = Field(
        default=3, ge=1, le=31, description="连续无故缺勤达到此天数即预警（此后每满此数再预警）"
    )
    absence_alert_delay_days: int = Field(
        default=0,
        ge=0,
        le=MAX_ALERT_DELAY_DAYS,
        description="预警前等待的天数：无信号村的手机离线补传签到，晚一两天才到",
    )
    approvers: dict[TeamRole, Approvers] = Field(
        default_factory=lambda: dict(DEFAULT_APPROVERS),
        description="审批请假的角色，按申请人在工作队中的角色",
    )
    max_travel_kmh: float = Field(
        default=150.0, gt=0, le=1000, description="两次签到之间超过此速度即标记为不可能的移动"
    )
    max_clock_ahead_minutes: int = Field(
        default=5, ge=1, le=24 * 60, description="手机时间超前服务器此分钟数即标记"
    )

    def rule(self) -> Rule:
        """The days-in-the-village part, as days/rules.py judges by it."""
        return Rule(
            min_days_per_month=self.min_days_per_month,
            min_days_per_year=self.min_days_per_year,
            counted=frozenset(self.counted),
        )


class AttendanceRuleSet(AttendanceRuleBase):
    """A county's rule, whole: what is not given takes the default."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _every_role_has_an_approver(self) -> Self:
        missing = set(DEFAULT_APPROVERS) - set(self.approvers)
        if missing:
            raise ValueError(f"approvers needed for: {', '.join(sorted(missing))}")
        named = {role for roles in self.approvers.values() for role in roles}
        unable = sorted(r for r in named if Permission.LEAVE_APPROVE not in ROLE_PERMISSIONS[r])
        if unable:  # they would be refused every approval the rule gives them
            raise ValueError(f"these roles may not approve leave: {', '.join(unable)}")
        return self


class AttendanceRulePublic(AttendanceRuleBase):
    model_config = ConfigDict(from_attributes=True)

    region_code: str = Field(description="县的区划代码")
    is_default: bool = Field(description="该县尚未设定，适用默认规则")
    updated_at: datetime | None = None
    updated_by: UUID | None = None


class CadreDayPublic(BaseModel):
    """One cadre's one day: present (a counted check-in), on approved leave, training or a
    trip, or absent."""

    model_config = ConfigDict(from_attributes=True)

    cadre_id: UUID
    day: date
    region_code: str
    status: DayStatus
    present_checkins: int = Field(description="计入的签到数（范围内、未被驳回）")
    flagged_checkins: int = Field(description="存疑的签到数")
    absence_kind: Literal["leave", "training", "trip"] | None = Field(
        description="当天已批准的请假、培训或公出"
    )
