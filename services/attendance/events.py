"""What attendance publishes; the payload models are in services/common/contracts/attendance.py."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.attendance.models import Checkin
from services.common.contracts.attendance import CheckinRecorded
from services.common.events import emit

SOURCE = "/zhucun/attendance"


async def checkin_recorded(session: AsyncSession, checkin: Checkin) -> None:
    await emit(
        session,
        CheckinRecorded(
            checkin_id=checkin.id,
            cadre_id=checkin.cadre_id,
            region_code=checkin.region_code,
            kind=checkin.kind,  # type: ignore[arg-type]
            client_time=checkin.client_time,
            recorded_at=checkin.recorded_at,
        ),
        source=SOURCE,
        subject=checkin.id,
        region_code=checkin.region_code,
    )
