"""What supervision publishes; the payload models are in services/common/contracts/attendance.py."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.attendance.events import SOURCE
from services.attendance.roster.models import TeamMember
from services.attendance.supervision.models import ConductReport, Talk
from services.attendance.supervision.schemas import SpotCheckPublic
from services.common.contracts.attendance import (
    ConductReported,
    SpotCheckAbsentee,
    SpotCheckExcused,
    SpotCheckRecorded,
    TalkEscalated,
)
from services.common.events import emit


async def spot_check_recorded(
    session: AsyncSession, check: SpotCheckPublic, terms: dict[UUID, TeamMember]
) -> None:
    """Who was absent comes with whom to alert (from the cadre's team term), so that a
    consumer acts on the event alone."""
    absent, excused = [], []
    for cadre in check.not_found:
        if cadre.absence_kind is None:
            term = terms[cadre.cadre_id]
            absent.append(
                SpotCheckAbsentee(
                    cadre_id=cadre.cadre_id,
                    member_id=term.id,
                    role=cadre.role,
                    unit_name=term.unit_name,
                    unit_code=term.unit_code,
                    contact_leader_id=term.contact_leader_id,
                    branch_secretary_id=term.branch_secretary_id,
                    note=cadre.note,
                )
            )
        else:
            assert cadre.leave_request_id is not None
            excused.append(
                SpotCheckExcused(
                    cadre_id=cadre.cadre_id,
                    kind=cadre.absence_kind,
                    leave_request_id=cadre.leave_request_id,
                )
            )
    await emit(
        session,
        SpotCheckRecorded(
            spot_check_id=check.id,
            region_code=check.region_code,
            visited_at=check.visited_at,
            visit_day=check.visit_day,
            inspector_id=check.inspector_id,
            found=tuple(c.cadre_id for c in check.found),
            absent=tuple(absent),
            excused=tuple(excused),
        ),
        source=SOURCE,
        subject=check.id,
        region_code=check.region_code,
    )


async def conduct_reported(session: AsyncSession, report: ConductReport) -> None:
    await emit(
        session,
        ConductReported(
            report_id=report.id,
            region_code=report.region_code,
            supervisor_id=report.supervisor_id,
            first_day=report.first_day,
            last_day=report.last_day,
            presence=report.presence,  # type: ignore[arg-type]
            named_cadre_ids=tuple(c["cadre_id"] for c in report.concerns),
        ),
        source=SOURCE,
        subject=report.id,
        region_code=report.region_code,
    )


async def talk_escalated(
    session: AsyncSession, talk: Talk, township_code: str, unsolved: list[str]
) -> None:
    assert talk.escalation_note is not None and talk.escalated_by is not None
    await emit(
        session,
        TalkEscalated(
            talk_id=talk.id,
            cadre_id=talk.cadre_id,
            region_code=talk.region_code,
            township_code=township_code,
            talked_on=talk.talked_on,
            held_by=talk.held_by,
            unsolved_problems=tuple(unsolved),
            note=talk.escalation_note,
            escalated_by=talk.escalated_by,
        ),
        source=SOURCE,
        subject=talk.id,
        region_code=talk.region_code,
    )
