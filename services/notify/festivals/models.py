from datetime import date, datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.common.ids import new_id


class CountyFestival(SQLModel, table=True):
    """民族节日: a county's own festival (彝族年, 藏历新年 …) in one year, from its first day to
    its last: their dates follow calendars no library computes reliably, so the county sets
    them year by year. The constraints are the migration's (notify_0004)."""

    __tablename__ = "county_festival"
    __table_args__ = (
        UniqueConstraint("county_code", "code", "year"),
        CheckConstraint("county_code ~ '^[0-9]{6}$'", name="county_code"),
        CheckConstraint("code ~ '^[a-z][a-z0-9_]*$'", name="code"),
        CheckConstraint("last_day >= first_day", name="day_order"),
        CheckConstraint("year = EXTRACT(YEAR FROM first_day)", name="year_of_first_day"),
    )

    id: UUID = Field(default_factory=new_id, primary_key=True)
    county_code: str = Field(max_length=6, description="the county's 6-digit division code")
    code: str = Field(description="snake_case, e.g. yi_new_year")
    name: str
    year: int
    first_day: date
    last_day: date
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
