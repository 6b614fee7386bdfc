from datetime import date, datetime
from typing import Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.notify.festivals.calendar import FestivalKind

MAX_DAYS = 31  # an ethnic festival lasts days, not months: a longer span is a typing slip


class FestivalPublic(BaseModel):
    """One festival of the year: computed (lunar, solar) or the county's own (ethnic)."""

    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="节日代码, e.g. mid_autumn, yi_new_year")
    name: str = Field(description="节日名称")
    name_en: str
    kind: FestivalKind = Field(description="农历 lunar / 公历 solar / 民族节日 ethnic")
    day: date = Field(description="节日（第一天）")
    last_day: date = Field(description="最后一天（含）；一天的节日同 day")


class CountyFestivalSet(BaseModel):
    """A county's festival in one year, whole: what the same county, code and year had before
    is replaced."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50, description="节日名称，如 彝族年")
    first_day: date = Field(description="第一天（须在该年内）")
    last_day: date = Field(description="最后一天（含）")

    @field_validator("name")
    @classmethod
    def _a_name(cls, name: str) -> str:
        if not name.strip() or "\x00" in name:  # PostgreSQL's text takes no NUL
            raise ValueError("a name, not blank")
        return name

    @model_validator(mode="after")
    def _a_span(self) -> Self:
        if self.last_day < self.first_day:
            raise ValueError("last_day must not be before first_day")
        if (self.last_day - self.first_day).days >= MAX_DAYS:
            raise ValueError(f"a festival lasts at most {MAX_DAYS} days")
        return self


class CountyFestivalPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    county_code: str = Field(description="县的 6 位区划代码")
    code: str
    name: str
    year: int
    first_day: date
    last_day: date
    created_at: datetime
