"""Events the attendance service publishes (考勤)."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from services.common.events import EventData


class CheckinRecorded(EventData):
    """签到: a cadre checked in or out in a village."""

    type = "attendance.checkin.recorded"
    version = 1

    checkin_id: UUID
    cadre_id: UUID
    region_code: str
    kind: Literal["checkin", "checkout"]
    client_time: datetime
    recorded_at: datetime
