"""What leave publishes; the payload models are in services/common/contracts/attendance.py."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.attendance.events import SOURCE
from services.attendance.leave.models import LeaveRequest
from services.common.contracts.attendance import (
    LeaveApproved,
    LeaveCancelled,
    LeaveRefused,
    LeaveRequested,
)
from services.common.events import EventData, emit

_DECIDED: dict[str, type[LeaveRequested]] = {
    "approved": LeaveApproved,
    "refused": LeaveRefused,
    "cancelled": LeaveCancelled,
}


async def _emit(session: AsyncSession, kind: type[EventData], leave: LeaveRequest) -> None:
    data = kind.model_validate({**leave.model_dump(), "leave_id": leave.id})
    await emit(session, data, source=SOURCE, subject=leave.id, region_code=leave.region_code)


async def leave_requested(session: AsyncSession, leave: LeaveRequest) -> None:
    await _emit(session, LeaveRequested, leave)


async def leave_decided(session: AsyncSession, leave: LeaveRequest) -> None:
    """Approved, refused or cancelled: the request's new status as its event."""
    await _emit(session, _DECIDED[leave.status], leave)
