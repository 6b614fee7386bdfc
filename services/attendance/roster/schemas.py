from datetime import date, datetime
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from services.attendance import geo
from services.attendance.schemas import RegionCode


def _a_village(code: str) -> str:
    if code.endswith("000"):  # a township's or a wider region's code
        raise ValueError("must be a village's code (its last three digits not 000)")
    return code


VillageCode = Annotated[RegionCode, AfterValidator(_a_village)]
TeamRole = Literal["first_secretary", "team_leader", "member"]
EndCause = Literal["recalled", "replaced", "completed"]  # 召回 / 轮换 / 期满


class TeamMemberBase(BaseModel):
    cadre_id: UUID = Field(description="驻村干部的用户 id")
    region_code: VillageCode
    role: TeamRole = Field(description="第一书记 / 队长 / 队员")
    unit_name: str = Field(min_length=1, max_length=100, description="派出单位名称")
    unit_code: str | None = Field(
        default=None, min_length=1, max_length=32, description="派出单位代码"
    )
    term_start: date = Field(description="任期开始（含）")
    term_end: date | None = Field(default=None, description="任期结束（含），未定可空")
    contact_leader_id: UUID | None = Field(default=None, description="联系村领导（第一书记）")
    branch_secretary_id: UUID | None = Field(default=None, description="支部书记（队员）")


class TeamMemberCreate(TeamMemberBase):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.term_end is not None and self.term_end < self.term_start:
            raise ValueError("term_end must not be before term_start")
        if self.contact_leader_id is not None and self.role != "first_secretary":
            raise ValueError("only a first secretary has a contact leader")
        if self.branch_secretary_id is not None and self.role == "first_secretary":
            raise ValueError("a first secretary has a contact leader, not a branch secretary")
        return self


class TeamMemberEnd(BaseModel):
    """How a term ends: its last day, and why."""

    model_config = ConfigDict(extra="forbid")

    last_day: date = Field(description="任期最后一天")
    cause: EndCause = Field(description="召回 recalled / 轮换 replaced / 期满 completed")
    reason: str = Field(min_length=1, max_length=500, description="原因")


class TeamMemberPublic(TeamMemberBase):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    end_cause: EndCause | None
    end_reason: str | None
    created_at: datetime
    ended_at: datetime | None


Longitude = Annotated[float, Field(ge=-180, le=180)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Position = tuple[Longitude, Latitude]  # GeoJSON order: [lon, lat]
Ring = Annotated[list[Position], Field(min_length=4, max_length=5000)]


class GeoJsonPolygon(BaseModel):
    """A GeoJSON Polygon (RFC 7946) in WGS-84: an outer ring, then any holes, each closed. Its
    form is checked here; whether the rings make a valid area in China, by the geofence's
    own reading of it (PolygonArea below)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Polygon"]
    coordinates: Annotated[list[Ring], Field(min_length=1, max_length=50)]

    @field_validator("coordinates")
    @classmethod
    def _closed(cls, rings: list[list[Position]]) -> list[list[Position]]:
        if any(ring[0] != ring[-1] for ring in rings):
            raise ValueError("each ring must end where it starts")
        return rings


class CircleArea(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["circle"]
    latitude: Latitude = Field(description="圆心纬度 (WGS-84)")
    longitude: Longitude = Field(description="圆心经度 (WGS-84)")
    radius_m: float = Field(ge=20, le=20_000, description="半径（米）")

    def area(self) -> geo.Area:
        """The area the geofence judges against (services/attendance/geo.py)."""
        return geo.CircleArea(geo.Position(self.latitude, self.longitude), self.radius_m)

    @model_validator(mode="after")
    def _in_china(self) -> Self:
        self.area()  # a centre outside China is refused (ValueError: a 422)
        return self


class PolygonArea(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["polygon"]
    polygon: GeoJsonPolygon

    def area(self) -> geo.Area:
        return geo.PolygonArea.from_geojson(self.polygon.model_dump(mode="json"))

    @model_validator(mode="after")
    def _valid_shape(self) -> Self:
        self.area()  # self-intersecting, or outside China: refused (ValueError: a 422)
        return self


AreaGeometry = Annotated[CircleArea | PolygonArea, Field(discriminator="kind")]


class CheckinAreaBase(BaseModel):
    region_code: VillageCode
    name: str = Field(min_length=1, max_length=100, description="名称，如 村委会、某某组")
    geometry: AreaGeometry


class CheckinAreaCreate(CheckinAreaBase):
    model_config = ConfigDict(extra="forbid")


class CheckinAreaPublic(CheckinAreaBase):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    created_at: datetime
    retired_at: datetime | None
