from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from services.common.contracts.notify import MessageCounts
from services.common.permissions import Role
from services.notify.festivals.calendar import MAX_YEAR, MIN_YEAR
from services.notify.providers.base import PersonChannel as Channel

CampaignStatus = Literal["scheduled", "sending", "paused", "completed", "cancelled"]
# Money leaves as a yuan string ("12.35"), never a float (CONVENTIONS.md, Data).
Yuan = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]


class FestivalRef(BaseModel):
    """A festival of a year: the campaign is sent on its (first) day."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="节日代码，如 mid_autumn")
    year: int = Field(ge=MIN_YEAR, le=MAX_YEAR, description="年份")


class Audience(BaseModel):
    """Whom a campaign greets: cadres of its region by role, and the people of uploaded lists;
    a phone in both is greeted once."""

    model_config = ConfigDict(extra="forbid")

    roles: list[Role] = Field(
        default_factory=list, max_length=20, description="干部角色，如 first_secretary"
    )
    list_ids: list[UUID] = Field(default_factory=list, max_length=100, description="名单 id")


class CampaignCreate(BaseModel):
    """A greeting campaign: on a festival (or a date), at a local time, to an audience."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="活动名称")
    region_code: str = Field(pattern=r"^\d{12}$", description="发送范围（区划代码）")
    festival: FestivalRef | None = Field(default=None, description="节日（与 send_on 二选一）")
    send_on: date | None = Field(default=None, description="发送日期（与 festival 二选一）")
    send_time: time = Field(default=time(9, 0), description="当地时间 HH:MM")
    template_code: str = Field(min_length=1, max_length=64, description="问候模板代码")
    channels: list[Channel] = Field(min_length=1, max_length=3, description="渠道，按优先顺序")
    audience: Audience
    sender: str = Field(default="驻村工作队", min_length=1, max_length=30, description="落款")

    @field_validator("name", "sender")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip() or "\x00" in value:  # PostgreSQL's text takes no NUL
            raise ValueError("not blank")
        return value

    @field_validator("channels")
    @classmethod
    def _each_once(cls, channels: list[str]) -> list[str]:
        if len(set(channels)) != len(channels):
            raise ValueError("each channel once")
        return channels

    @field_validator("send_time")
    @classmethod
    def _to_the_minute(cls, value: time) -> time:
        if value.tzinfo is not None or value.second or value.microsecond:
            raise ValueError("a local time HH:MM")
        return value

    @model_validator(mode="after")
    def _one_day(self) -> Self:
        if (self.festival is None) == (self.send_on is None):
            raise ValueError("exactly one of festival and send_on")
        return self


class CampaignPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    region_code: str
    festival_code: str | None
    festival_day: date | None
    send_at: datetime
    template_code: str
    channels: list[str]
    audience_roles: list[str]
    audience_list_ids: list[UUID]
    sender: str
    status: CampaignStatus
    planned: int | None = Field(description="计划发送的消息数（开始发送时确定）")
    created_by: UUID
    created_at: datetime
    updated_at: datetime
    planned_at: datetime | None
    completed_at: datetime | None


class CampaignDetail(CampaignPublic):
    progress: MessageCounts = Field(description="its messages by status")


class CampaignPreview(BaseModel):
    """What the campaign would send if it started now."""

    contacts: int = Field(description="受众中的联系人（含重复）")
    recipients: int = Field(description="去重后的收件人（同一手机号只算一次）")
    duplicates: int = Field(description="重复的手机号（去重掉的联系人数）")
    by_channel: dict[str, int] = Field(description="各渠道将发送的条数")
    unreachable: int = Field(description="无可用联系方式或模板")
    opted_out: int = Field(description="已退订短信")
    sms_parts: int = Field(description="每条短信的计费条数（按示例姓名）")
    cost: Yuan = Field(description="短信费用估算（元）")
