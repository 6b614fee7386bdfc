from datetime import date, datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.attendance.roster.schemas import TeamRole, VillageCode
from services.attendance.schemas import EARLIEST, LATEST
from services.common.contracts.attendance import AbsenceKind, Presence

Note = Annotated[str, Field(min_length=1, max_length=500)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
MAX_NAMED = 50  # a team is a handful of cadres; a list longer than this is no team's


def _distinct(cadre_ids: list[UUID]) -> None:
    if len(set(cadre_ids)) != len(cadre_ids):
        raise ValueError("a cadre may be named only once")


# --- 明察暗访: spot checks -----------------------------------------------------------------


class NotFoundCadre(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cadre_id: UUID = Field(description="未见到的干部")
    note: Note | None = Field(default=None, description="说明，如村民所述去向")


class SpotCheckBase(BaseModel):
    client_id: UUID = Field(description="客户端生成的 UUID；重发同一次暗访不会重复记录")
    region_code: VillageCode = Field(description="暗访的村")
    visited_at: AwareDatetime = Field(description="到村时间，带时区")
    notes: Text | None = Field(default=None, description="暗访情况")
    photo_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="现场照片的 SHA-256（小写十六进制）"
    )


class SpotCheckCreate(SpotCheckBase):
    """Who the inspector found in the village and who not; every cadre named must be on the
    village's team that day."""

    model_config = ConfigDict(extra="forbid")

    found: list[UUID] = Field(default=[], max_length=MAX_NAMED, description="在岗的干部")
    not_found: list[NotFoundCadre] = Field(
        default=[], max_length=MAX_NAMED, description="未见到的干部"
    )

    @field_validator("visited_at")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        if not EARLIEST <= value <= LATEST:
            raise ValueError("visited_at must lie between 2000 and 2100")
        return value

    @model_validator(mode="after")
    def _each_cadre_once(self) -> Self:
        named = [*self.found, *(c.cadre_id for c in self.not_found)]
        if not named:
            raise ValueError("name the cadres found, not found, or both")
        _distinct(named)
        return self


class SpotCheckCadrePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    cadre_id: UUID
    member_id: UUID = Field(description="当日所在的工作队任期")
    role: TeamRole


class NotFoundCadrePublic(SpotCheckCadrePublic):
    note: str | None
    absence_kind: AbsenceKind | None = Field(
        description="记录时已批准的请假 leave / 培训 training / 公出 trip；空为无故不在岗"
    )
    leave_request_id: UUID | None


class SpotCheckPublic(SpotCheckBase):
    id: UUID
    visit_day: date = Field(description="到村日期（县所在时区）")
    inspector_id: UUID
    recorded_at: datetime
    found: list[SpotCheckCadrePublic]
    not_found: list[NotFoundCadrePublic]


# --- 驻村风气监督员: conduct supervisors' reports ---------------------------------------------


class CadreConcern(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cadre_id: UUID = Field(description="所反映的干部")
    concern: Note = Field(description="反映的问题")


class ConductReportBase(BaseModel):
    region_code: VillageCode
    first_day: date = Field(description="所报告时段的第一天（或当天）")
    last_day: date | None = Field(default=None, description="时段最后一天；只报一天可空")
    presence: Presence = Field(
        description="工作队在村情况：always 一直在村 / mostly 大多在村 / rarely 很少在村 / "
        "never 从未见到"
    )
    conduct: Text = Field(description="作风情况")
    concerns: list[CadreConcern] = Field(
        default=[], max_length=MAX_NAMED, description="点名反映的干部（须在该时段的工作队中）"
    )


class ConductReportCreate(ConductReportBase):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _a_period(self) -> Self:
        self.last_day = self.last_day or self.first_day
        if self.last_day < self.first_day:
            raise ValueError("last_day must not be before first_day")
        if (self.last_day - self.first_day).days > 366:
            raise ValueError("a report covers at most a year")
        _distinct([c.cadre_id for c in self.concerns])
        return self


class ConductReportPublic(ConductReportBase):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    last_day: date
    supervisor_id: UUID
    reported_at: datetime


# --- 谈心谈话: heart-to-heart talks ---------------------------------------------------------


class TalkProblem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Note = Field(description="干部反映的问题")
    solved: bool = Field(default=False, description="是否已解决")


class TalkBase(BaseModel):
    cadre_id: UUID = Field(description="谈话对象")
    region_code: VillageCode = Field(description="干部驻村所在的村")
    talked_on: date = Field(description="谈话日期")
    topics: Text = Field(description="谈话内容")
    problems: list[TalkProblem] = Field(default=[], max_length=20, description="反映的问题")
    care: Note | None = Field(default=None, description="关心关爱，如送慰问品")


class TalkCreate(TalkBase):
    model_config = ConfigDict(extra="forbid")


class TalkEscalation(BaseModel):
    """Escalating a talk's unsolved problems to the township party committee (上报乡镇党委)."""

    model_config = ConfigDict(extra="forbid")

    note: Note = Field(description="上报说明")


class TalkPublic(TalkBase):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    member_id: UUID = Field(description="当日所在的工作队任期")
    role: TeamRole
    held_by: UUID = Field(description="谈话人")
    recorded_at: datetime
    escalated_at: datetime | None
    escalated_by: UUID | None
    escalation_note: str | None
