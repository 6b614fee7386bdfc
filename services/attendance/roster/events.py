"""What the roster publishes; the payload models are in services/common/contracts/attendance.py."""

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.attendance.events import SOURCE
from services.attendance.roster.models import TeamMember
from services.common.contracts.attendance import RosterChanged
from services.common.events import emit


async def roster_changed(
    session: AsyncSession, member: TeamMember, change: Literal["assigned", "ended"]
) -> None:
    await emit(
        session,
        RosterChanged.model_validate(
            {**member.model_dump(), "member_id": member.id, "change": change}
        ),
        source=SOURCE,
        subject=member.id,
        region_code=member.region_code,
    )
