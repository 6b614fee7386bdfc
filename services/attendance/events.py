"""What attendance publishes; the payload models are in services/common/contracts/attendance.py."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.attendance.models import Checkin
from services.attendance.schemas import CheckinPublic
from services.common.contracts.attendance import CheckinRecorded, CheckinReviewed
from services.common.events import emit

SOURCE = "/zhucun/attendance"


async def checkin_recorded(session: AsyncSession, checkin: CheckinPublic) -> None:
    await emit(
        session,
        CheckinRecorded(
            checkin_id=checkin.id,
            cadre_id=checkin.cadre_id,
            region_code=checkin.region_code,
            kind=checkin.kind,
            client_time=checkin.client_time,
            recorded_at=checkin.recorded_at,
            inside=checkin.inside,
            flags=tuple(checkin.flags),
        ),
        source=SOURCE,
        subject=checkin.id,
        region_code=checkin.region_code,
    )


async def checkin_reviewed(session: AsyncSession, checkin: Checkin) -> None:
    assert checkin.reviewed_by is not None and checkin.review != "none"
    await emit(
        session,
        CheckinReviewed(
            checkin_id=checkin.id,
            cadre_id=checkin.cadre_id,
            region_code=checkin.region_code,
            client_time=checkin.client_time,
            decision=checkin.review,  # type: ignore[arg-type]
            reviewer_id=checkin.reviewed_by,
        ),
        source=SOURCE,
        subject=checkin.id,
        region_code=checkin.region_code,
    )
