from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

# A work team is a village's: the team and the village report group alike.
Level = Literal["team", "village", "township", "county"]
CODE_LENGTH: dict[Level, int] = {"team": 12, "village": 12, "township": 9, "county": 6}


class DayCounts(BaseModel):
    """The days of a period, by status, as the day-status read model has them, and what the
    period's spot checks found."""

    model_config = ConfigDict(from_attributes=True)

    days: int = Field(title="记录天数", description="期间内有记录的天数")
    present: int = Field(title="在村天数")
    leave: int = Field(title="请假天数")
    training: int = Field(title="培训天数")
    trip: int = Field(title="公出天数")
    absent: int = Field(title="缺勤天数", description="无签到且无已批准事项")
    counted: int = Field(title="计入在村天数", description="在村，加上县规则计入的培训、公出等")
    attendance_rate: float = Field(title="在村率", description="计入在村天数 / 记录天数")
    flagged_checkins: int = Field(title="存疑签到数")
    spot_checks_found: int = Field(title="抽查在岗次数", description="明察暗访时在岗")
    spot_checks_missed: int = Field(
        title="抽查不在岗次数", description="明察暗访时不在岗，且无已批准的请假、培训或公出"
    )


class CadreKey(BaseModel):
    rank: int = Field(title="排名", description="按计入在村天数排名，缺勤少者在前")
    cadre_id: UUID = Field(title="干部ID")
    region_code: str = Field(title="所在村代码")


class RegionKey(BaseModel):
    rank: int = Field(title="排名", description="按在村率排名")
    region_code: str = Field(title="区划代码")
    cadres: int = Field(title="干部人数")


# Pydantic orders the fields of the later base first: who or where, then the counts (the
# columns of an export, left to right).
class CadreReportRow(DayCounts, CadreKey):
    """One cadre's period (干部考勤报表)."""


class RegionReportRow(DayCounts, RegionKey):
    """One team's, village's, township's or county's period (区域考勤报表)."""
