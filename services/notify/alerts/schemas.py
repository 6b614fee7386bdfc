from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.notify.alerts.parties import RECIPIENTS
from services.notify.templates.schemas import CODE_PATTERN, Channel

Recipient = Literal[RECIPIENTS]  # type: ignore[valid-type]


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("each at most once")
    return values


class AlertRouteSet(BaseModel):
    """A route, whole: created with POST, replaced with PUT."""

    model_config = ConfigDict(extra="forbid")

    event_type: str = Field(max_length=100, description="事件类型，如 attendance.absence.detected")
    recipients: Annotated[list[Recipient], AfterValidator(_distinct)] = Field(
        min_length=1,
        description="通知谁：cadre 干部本人, contact_leader 联系领导, branch_secretary 支部书记, "
        "dispatching_unit 派出单位, township 乡镇",
    )
    template_code: str = Field(pattern=CODE_PATTERN, description="模板代码（其用途须为该事件）")
    channels: Annotated[list[Channel], AfterValidator(_distinct)] = Field(
        min_length=1, description="渠道，按优先顺序；前者发不了时用后者"
    )
    enabled: bool = Field(default=True, description="是否启用")


class AlertRoutePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    event_type: str
    recipients: list[str]
    template_code: str
    channels: list[str]
    enabled: bool
    updated_by: UUID | None
    created_at: datetime
    updated_at: datetime
