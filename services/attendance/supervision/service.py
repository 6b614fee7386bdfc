"""Supervision (督查): spot checks, conduct supervisors' reports, heart-to-heart talks. Plain
functions that take a session and never commit."""

import calendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import exists
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.attendance.days.rules import local_day
from services.attendance.leave import service as leave_service
from services.attendance.photos import service as photos
from services.attendance.roster import service as roster
from services.attendance.roster.models import TeamMember
from services.attendance.supervision import events
from services.attendance.supervision.models import ConductReport, SpotCheck, SpotCheckCadre, Talk
from services.attendance.supervision.schemas import (
    ConductReportCreate,
    NotFoundCadre,
    SpotCheckBase,
    SpotCheckCreate,
    SpotCheckPublic,
    TalkCreate,
    TalkEscalation,
)
from services.common import audit
from services.common.auth import Caller, check_writable, one_scoped, scoped
from services.common.contracts.attendance import Presence
from services.common.db import lock
from services.common.errors import Conflict, Forbidden, Invalid, NotFound
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate
from services.common.permissions import Permission, Role, permissions_of
from services.common.regions import township_of

# A phone's clock a little ahead of the server's is no visit in the future.
CLOCK_TOLERANCE = timedelta(minutes=5)


def month_days(month: date) -> tuple[date, date]:
    """The first and last day of the month `month` falls in."""
    length = calendar.monthrange(month.year, month.month)[1]
    return month.replace(day=1), month.replace(day=length)


def _not_after_today(day: date, timezone: ZoneInfo, *, field: str, code: str) -> None:
    if day > local_day(datetime.now(UTC), timezone):
        raise Invalid(
            "日期不能晚于今天",
            code=code,
            errors=[{"field": field, "message": "must not be later than today"}],
        )


async def _terms_of_named(
    session: AsyncSession,
    region_code: str,
    named: Sequence[tuple[str, UUID]],
    first: date,
    last: date,
) -> dict[UUID, TeamMember]:
    """The team terms of the cadres a request names (each with the field that names them),
    on village `region_code`'s team at some time from `first` to `last`; a cadre on no such
    term is a 422 `not_on_team` naming them."""
    if not named:
        return {}
    terms = await roster.team_terms(session, region_code, (c for _, c in named), first, last)
    strangers = [(field, cadre) for field, cadre in named if cadre not in terms]
    if strangers:
        days = f"{first}" if first == last else f"{first} 至 {last}"
        when = f"on {first}" if first == last else f"between {first} and {last}"
        raise Invalid(
            f"以下干部 {days} 不在该村工作队中：" + "、".join(str(c) for _, c in strangers),
            code="not_on_team",
            errors=[
                {"field": field, "message": f"{cadre} is not on {region_code}'s team {when}"}
                for field, cadre in strangers
            ],
        )
    return terms


# --- 明察暗访: spot checks -----------------------------------------------------------------


def _spot_check_public(check: SpotCheck, cadres: Iterable[SpotCheckCadre]) -> SpotCheckPublic:
    ordered = sorted(cadres, key=lambda c: c.cadre_id)
    return SpotCheckPublic.model_validate(
        {
            **check.model_dump(),
            "found": [c.model_dump() for c in ordered if c.found],
            "not_found": [c.model_dump() for c in ordered if not c.found],
        }
    )


async def _with_cadres(session: AsyncSession, checks: Sequence[SpotCheck]) -> list[SpotCheckPublic]:
    """The spot checks with the cadres each named, in one query for them all."""
    statement = select(SpotCheckCadre).where(
        SpotCheckCadre.spot_check_id.in_([c.id for c in checks])  # type: ignore[attr-defined]
    )
    cadres: dict[UUID, list[SpotCheckCadre]] = defaultdict(list)
    for cadre in (await session.execute(statement)).scalars():
        cadres[cadre.spot_check_id].append(cadre)
    return [_spot_check_public(check, cadres[check.id]) for check in checks]


def _as_sent(data: SpotCheckCreate | SpotCheckPublic) -> tuple[Any, ...]:
    """What a request said, whatever the order it named the cadres in: a resent spot check
    is the same one if this is."""
    not_found = frozenset((c.cadre_id, c.note) for c in data.not_found)
    found = frozenset(c if isinstance(c, UUID) else c.cadre_id for c in data.found)
    return data.model_dump(include=set(SpotCheckBase.model_fields)), found, not_found


async def record_spot_check(
    session: AsyncSession, data: SpotCheckCreate, caller: Caller, timezone: ZoneInfo
) -> tuple[SpotCheckPublic, bool]:
    """Record a spot check and publish it, naming each cadre not found without approved leave,
    training or trip that day, with who answers for them. A resent `client_id` returns the
    stored one (False) and tells nobody twice."""
    check_writable(caller, data.region_code)
    await lock(session, f"spot_check:{data.client_id}")  # the same one sent twice at once
    stored = (
        await session.execute(select(SpotCheck).where(SpotCheck.client_id == data.client_id))
    ).scalar_one_or_none()
    if stored is not None:
        [public] = await _with_cadres(session, [stored])
        if not caller.covers(stored.region_code) or _as_sent(public) != _as_sent(data):
            raise Conflict("该 client_id 已用于另一次暗访", code="client_id_reused")
        return public, False

    recorded_at = datetime.now(UTC)
    if data.visited_at > recorded_at + CLOCK_TOLERANCE:
        raise Invalid(
            "暗访时间不能晚于当前时间",
            code="visited_in_future",
            errors=[{"field": "visited_at", "message": "must not be in the future"}],
        )
    await photos.check_stored(session, data.photo_sha256, data.region_code)
    day = local_day(data.visited_at, timezone)
    named = [(f"found.{i}", cadre) for i, cadre in enumerate(data.found)]
    named += [(f"not_found.{i}.cadre_id", c.cadre_id) for i, c in enumerate(data.not_found)]
    terms = await _terms_of_named(session, data.region_code, named, day, day)
    approved = await leave_service.approved_on(session, (c.cadre_id for c in data.not_found), day)

    sent = data.model_dump(include=set(SpotCheckBase.model_fields))
    sent["visited_at"] = data.visited_at.astimezone(UTC)  # as the database gives it back
    check = SpotCheck(
        id=new_id(), visit_day=day, inspector_id=caller.user_id, recorded_at=recorded_at, **sent
    )
    session.add(check)
    await session.flush()  # before its cadres: they refer to it

    def cadre(cadre_id: UUID, missed: NotFoundCadre | None = None) -> SpotCheckCadre:
        term, leave = terms[cadre_id], approved.get(cadre_id)
        return SpotCheckCadre(
            spot_check_id=check.id,
            cadre_id=cadre_id,
            member_id=term.id,
            role=term.role,
            found=missed is None,
            note=None if missed is None else missed.note,
            absence_kind=None if leave is None else leave.kind,
            leave_request_id=None if leave is None else leave.id,
        )

    cadres = [cadre(c) for c in data.found] + [cadre(c.cadre_id, c) for c in data.not_found]
    session.add_all(cadres)
    await session.flush()
    public = _spot_check_public(check, cadres)
    absent = [c for c in public.not_found if c.absence_kind is None]
    await audit.record(
        session,
        action="attendance.spotcheck.recorded",
        user_id=caller.user_id,
        target=check.id,
        region_code=check.region_code,
        detail={
            "found": len(public.found),
            "not_found": len(public.not_found),
            "absent": [str(c.cadre_id) for c in absent],
        },
    )
    await events.spot_check_recorded(session, public, terms)
    return public, True


async def get_spot_check(session: AsyncSession, check_id: UUID, caller: Caller) -> SpotCheckPublic:
    missing = NotFound("暗访记录不存在", code="spot_check_not_found")
    [public] = await _with_cadres(
        session, [await one_scoped(session, SpotCheck, check_id, caller, missing)]
    )
    return public


async def list_spot_checks(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    region_code: str | None = None,
    cadre_id: UUID | None = None,
) -> tuple[list[SpotCheckPublic], str | None]:
    """The spot checks in the caller's region, newest visit first; `cadre_id`: those that
    named that cadre, found or not."""
    statement = scoped(select(SpotCheck), SpotCheck.region_code, caller, within=region_code)
    if cadre_id is not None:
        named = exists().where(
            SpotCheckCadre.spot_check_id == SpotCheck.id, SpotCheckCadre.cadre_id == cadre_id
        )
        statement = statement.where(named)
    rows, cursor = await paginate(
        session,
        statement,
        page,
        id_column=SpotCheck.id,  # type: ignore[arg-type]
        sortable={"visited_at": SpotCheck.visited_at, "recorded_at": SpotCheck.recorded_at},  # type: ignore[dict-item]
        default_sort="-visited_at",
    )
    return await _with_cadres(session, rows), cursor


# --- 驻村风气监督员: conduct supervisors' reports ---------------------------------------------


async def record_conduct_report(
    session: AsyncSession, data: ConductReportCreate, caller: Caller, timezone: ZoneInfo
) -> ConductReport:
    """A conduct supervisor's report on their village's team over a period; the cadres named
    must have been on the team at some time in it."""
    check_writable(caller, data.region_code)
    assert data.last_day is not None  # ConductReportCreate fills it
    _not_after_today(data.last_day, timezone, field="last_day", code="period_in_future")
    named = [(f"concerns.{i}.cadre_id", c.cadre_id) for i, c in enumerate(data.concerns)]
    await _terms_of_named(session, data.region_code, named, data.first_day, data.last_day)
    report = ConductReport(
        id=new_id(),
        supervisor_id=caller.user_id,
        reported_at=datetime.now(UTC),
        **data.model_dump(exclude={"concerns"}),
        concerns=[c.model_dump(mode="json") for c in data.concerns],
    )
    session.add(report)
    await session.flush()
    await audit.record(
        session,
        action="attendance.conduct.reported",
        user_id=caller.user_id,
        target=report.id,
        region_code=report.region_code,
        detail={"presence": report.presence, "named": len(report.concerns)},
    )
    await events.conduct_reported(session, report)
    return report


async def get_conduct_report(
    session: AsyncSession, report_id: UUID, caller: Caller
) -> ConductReport:
    missing = NotFound("风气监督报告不存在", code="conduct_report_not_found")
    return await one_scoped(session, ConductReport, report_id, caller, missing)


async def list_conduct_reports(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    region_code: str | None = None,
    presence: Presence | None = None,
) -> tuple[list[ConductReport], str | None]:
    statement = scoped(select(ConductReport), ConductReport.region_code, caller, within=region_code)
    if presence is not None:
        statement = statement.where(ConductReport.presence == presence)
    return await paginate(
        session,
        statement,
        page,
        id_column=ConductReport.id,  # type: ignore[arg-type]
        sortable={"reported_at": ConductReport.reported_at, "first_day": ConductReport.first_day},  # type: ignore[dict-item]
        default_sort="-reported_at",
    )


# --- 谈心谈话: heart-to-heart talks ---------------------------------------------------------


async def record_talk(
    session: AsyncSession, data: TalkCreate, caller: Caller, timezone: ZoneInfo
) -> Talk:
    """Record a heart-to-heart talk with a cadre on a village's team that day. Several in a
    month are fine (a follow-up on a problem): the rule is at least one a month, which
    `list_missing_talks` watches."""
    check_writable(caller, data.region_code)
    _not_after_today(data.talked_on, timezone, field="talked_on", code="talked_in_future")
    day, named = data.talked_on, [("cadre_id", data.cadre_id)]
    terms = await _terms_of_named(session, data.region_code, named, day, day)
    term = terms[data.cadre_id]
    await _check_talks_with(session, term, caller, day)
    talk = Talk(
        id=new_id(),
        member_id=term.id,
        role=term.role,
        held_by=caller.user_id,
        recorded_at=datetime.now(UTC),
        **data.model_dump(exclude={"problems"}),
        problems=[p.model_dump() for p in data.problems],
    )
    session.add(talk)
    await session.flush()
    await audit.record(
        session,
        action="attendance.talk.recorded",
        user_id=caller.user_id,
        target=talk.id,
        region_code=talk.region_code,
        detail={
            "cadre_id": str(talk.cadre_id),
            "problems": len(data.problems),
            "solved": sum(p.solved for p in data.problems),
        },
    )
    return talk


async def _check_talks_with(
    session: AsyncSession, term: TeamMember, caller: Caller, day: date
) -> None:
    """A contact leader talks with the team they answer for (its first secretary, and through
    them its members); a township officer or county admin with any cadre in their region."""
    others = [role for role in caller.roles if role != Role.CONTACT_LEADER]
    if Permission.TALK_RECORD in permissions_of(others):
        return
    if not await roster.leads_team_of(session, term, caller.user_id, day):
        raise Forbidden("只能与本人联系的工作队干部谈心谈话", code="not_their_cadre")


async def get_talk(
    session: AsyncSession, talk_id: UUID, caller: Caller, *, for_update: bool = False
) -> Talk:
    missing = NotFound("谈心谈话记录不存在", code="talk_not_found")
    return await one_scoped(session, Talk, talk_id, caller, missing, for_update=for_update)


async def escalate_talk(
    session: AsyncSession, talk_id: UUID, data: TalkEscalation, caller: Caller
) -> Talk:
    """上报: hand a talk's unsolved problems to the township party committee, once."""
    talk = await get_talk(session, talk_id, caller, for_update=True)
    if talk.escalated_at is not None:
        raise Conflict("该谈话反映的问题已上报", code="talk_already_escalated")
    unsolved = [p["description"] for p in talk.problems if not p["solved"]]
    if not unsolved:
        raise Conflict("该谈话没有未解决的问题可上报", code="no_unsolved_problem")
    talk.escalated_at, talk.escalated_by = datetime.now(UTC), caller.user_id
    talk.escalation_note = data.note
    await session.flush()
    await audit.record(
        session,
        action="attendance.talk.escalated",
        user_id=caller.user_id,
        target=talk.id,
        region_code=talk.region_code,
        detail={"township_code": township_of(talk.region_code), "problems": len(unsolved)},
    )
    await events.talk_escalated(session, talk, township_of(talk.region_code), unsolved)
    return talk


async def list_talks(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    region_code: str | None = None,
    cadre_id: UUID | None = None,
    month: date | None = None,
    escalated: bool | None = None,
) -> tuple[list[Talk], str | None]:
    statement = scoped(select(Talk), Talk.region_code, caller, within=region_code)
    if cadre_id is not None:
        statement = statement.where(Talk.cadre_id == cadre_id)
    if month is not None:
        statement = statement.where(Talk.talked_on.between(*month_days(month)))  # type: ignore[attr-defined]
    if escalated is not None:
        raised = Talk.escalated_at.is_not(None)  # type: ignore[union-attr]
        statement = statement.where(raised if escalated else ~raised)
    return await paginate(
        session,
        statement,
        page,
        id_column=Talk.id,  # type: ignore[arg-type]
        sortable={"talked_on": Talk.talked_on, "recorded_at": Talk.recorded_at},  # type: ignore[dict-item]
        default_sort="-talked_on",
    )


async def list_missing_talks(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    month: date,
    region_code: str | None = None,
) -> tuple[list[TeamMember], str | None]:
    """The team terms of the month (in the caller's region) whose cadre had no talk that
    month, anywhere: who the contact leaders still owe their monthly talk. A cadre who moved
    villages within the month is listed once per term."""
    first, last = month_days(month)
    talked = exists().where(
        Talk.cadre_id == TeamMember.cadre_id,
        Talk.talked_on.between(first, last),  # type: ignore[attr-defined]
    )
    statement = scoped(
        select(TeamMember), TeamMember.region_code, caller, within=region_code
    ).where(roster.serving(first, last), ~talked)
    return await paginate(
        session,
        statement,
        page,
        id_column=TeamMember.id,  # type: ignore[arg-type]
        sortable={"region_code": TeamMember.region_code, "term_start": TeamMember.term_start},  # type: ignore[dict-item]
        default_sort="region_code",
    )
