from datetime import date, datetime
from typing import Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

LeaveKind = Literal["leave", "training", "trip"]  # 请假 / 培训 / 公出
LeaveStatus = Literal["pending", "approved", "refused", "cancelled"]
MAX_DAYS = 366


class LeaveRequestBase(BaseModel):
    kind: LeaveKind = Field(description="请假 leave / 培训 training / 公出 trip")
    first_day: date = Field(description="第一天（含）")
    last_day: date = Field(description="最后一天（含）")
    reason: str = Field(min_length=1, max_length=500, description="事由")


class LeaveRequestCreate(LeaveRequestBase):
    """A cadre asks for days away from the village, for themselves."""

    model_config = ConfigDict(extra="forbid")

    cadre_id: UUID = Field(description="申请人（驻村干部本人）的用户 id")

    @model_validator(mode="after")
    def _a_span(self) -> Self:
        if self.last_day < self.first_day:
            raise ValueError("last_day must not be before first_day")
        if (self.last_day - self.first_day).days >= MAX_DAYS:
            raise ValueError(f"a request covers at most {MAX_DAYS} days")
        return self


class LeaveDecision(BaseModel):
    """The responsible person's decision; a refusal says why."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, min_length=1, max_length=500, description="意见")


class LeaveRefusal(LeaveDecision):
    note: str = Field(min_length=1, max_length=500, description="不批准的理由")


class LeaveRequestPublic(LeaveRequestBase):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    cadre_id: UUID
    region_code: str = Field(description="申请人所在村")
    member_id: UUID = Field(description="申请所在的任期")
    team_role: Literal["first_secretary", "team_leader", "member"]
    status: LeaveStatus = Field(description="待批 / 批准 / 不批准 / 撤回")
    requested_at: datetime
    decided_by: UUID | None
    decided_at: datetime | None
    decision_note: str | None
