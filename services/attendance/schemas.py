from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
RegionCode = Annotated[str, Field(pattern=r"^\d{12}$", description="12 位统计用区划代码")]
PhotoSha256 = Annotated[
    str, Field(pattern=r"^[0-9a-f]{64}$", description="照片内容的 SHA-256（64 位小写十六进制）")
]


class CheckinBase(BaseModel):
    client_id: UUID = Field(description="客户端生成的 UUID；重发同一签到不会重复记录")
    cadre_id: UUID = Field(description="驻村干部的用户 id")
    region_code: RegionCode
    kind: Literal["checkin", "checkout"] = "checkin"
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    coordinate_system: Literal["wgs84", "gcj02", "bd09"] = Field(
        default="wgs84",
        description="坐标系：GPS 为 wgs84；微信和国内地图 SDK 默认 gcj02；百度 bd09",
    )
    # A phone reports its fix to metres; nothing claims a perfect one (0) or a region-wide one.
    accuracy_m: float | None = Field(default=None, gt=0, le=10_000)
    device: str | None = Field(default=None, max_length=128, description="设备标识")
    mock_location: bool = Field(default=False, description="手机报告的模拟定位标志")
    client_time: AwareDatetime = Field(description="手机上的时间，带时区")
    photo_sha256: PhotoSha256 | None = Field(
        default=None, description="签到照片：先 POST /photos 上传，再在此写它的 SHA-256"
    )


SentAt = Annotated[
    AwareDatetime | None,
    Field(
        description="发出时手机上的时间（离线补传时为补传时刻）：与服务器时间相差过大即标记手机时钟异常"
    ),
]


class CheckinCreate(CheckinBase):
    model_config = ConfigDict(extra="forbid")

    # The phone's clock as it sent this (a queued check-in: when the queue was sent). A check-in
    # made days ago is no sign of anything; a phone whose clock is days off now is: someone
    # may have set it back to make up missed days (两头跑). Not part of what is resent alike.
    sent_at: SentAt = None

    @field_validator("client_time", "sent_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        # A phone's clock can be wrong (the judgement flags it), but not by centuries.
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValueError("must lie between 2000 and 2100")
        return value


MAX_BATCH = 200  # days of a phone without signal, at a few check-ins a day


class CheckinBatch(BaseModel):
    """离线签到: check-ins a phone queued without signal, sent together. Each item is checked
    and answered on its own, so one bad item does not hold back the others."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(min_length=1, max_length=MAX_BATCH)  # each checked on its own
    sent_at: SentAt = None  # for each item that names none of its own


class ItemProblem(BaseModel):
    """Why one item of a batch was not stored: the problem a single request would have got."""

    code: str
    detail: str
    errors: list[dict[str, str]] | None = None


Flag = Literal[
    "outside_area",
    "no_area",
    "impossible_travel",
    "clock_ahead",
    "clock_behind",
    "mock_location",
    "photo_reused",
]


class CheckinSummary(BaseModel):
    """A check-in without where exactly it was made, for the roles that count days in the
    village rather than follow cadres (viewers, integrations): a cadre's position is theirs."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    client_id: UUID
    cadre_id: UUID
    region_code: str
    kind: Literal["checkin", "checkout"]
    client_time: datetime
    recorded_at: datetime
    inside: bool | None = Field(description="在签到范围内（村未设范围时为空）")
    flags: list[Flag] = Field(description="存疑之处；存疑签到在审核驳回前仍然有效")
    review: Literal["none", "accepted", "rejected"] = Field(description="审核结果；驳回后不计")


class CheckinPublic(CheckinBase):
    """A check-in whole: for the cadre and the people responsible for their presence."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    client_time: datetime
    recorded_at: datetime = Field(description="服务器收到的时间")
    sent_at: datetime | None = Field(default=None, description="发出时手机上的时间")
    wgs84_latitude: float = Field(description="换算为 WGS-84 的纬度，用于判定")
    wgs84_longitude: float
    inside: bool | None = Field(description="在签到范围内（村未设范围时为空）")
    distance_m: float | None = Field(description="距最近签到范围的米数（范围内为 0）")
    flags: list[Flag] = Field(description="存疑之处；存疑签到在审核驳回前仍然有效")
    review: Literal["none", "accepted", "rejected"] = Field(
        default="none", description="审核结果；驳回后不计"
    )
    reviewed_by: UUID | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None


class CheckinReview(BaseModel):
    """A reviewer's decision: accept a flagged check-in, or reject it (with why)."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["accepted", "rejected"]
    note: str | None = Field(default=None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def _rejections_say_why(self) -> Self:
        if self.decision == "rejected" and self.note is None:
            raise ValueError("a rejection needs a note saying why")
        return self


class CheckinOutcome(BaseModel):
    """One item's answer: 201 stored now, 200 stored before (the same client_id), else the
    status and problem a single request would have got, with nothing stored."""

    client_id: str | None = Field(description="the item's client_id, as sent")
    status: int
    checkin: CheckinPublic | None = None
    problem: ItemProblem | None = None


class CheckinBatchResult(BaseModel):
    results: list[CheckinOutcome]
