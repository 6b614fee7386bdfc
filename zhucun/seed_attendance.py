"""The demo county's attendance: every village's work team and check-in area, and a month of
plausible days (from the first of last month to yesterday), so that a new user sees every
report filled: most cadres present nearly every day, a few with runs of unexplained absence,
a few flagged check-ins (a mock location, one outside the area, an impossible trip), approved
leave, training and a trip, a request still pending and one refused. The daily and monthly
evaluations are then run over the month, as the service's jobs would have, so the alerts of
the absences are among the events the services start with.

Everything goes through attendance's own service functions (events, audit, judgement), as a
county admin, a township officer and the cadres themselves; ids derive from names. A county
whose roster is already seeded is left as it is (a second `make run` changes nothing).
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from sqlalchemy import text

from services.attendance import service as checkins
from services.attendance.jobs import JOBS
from services.attendance.leave import service as leave
from services.attendance.leave.schemas import LeaveDecision, LeaveRequestCreate
from services.attendance.roster import service as roster
from services.attendance.roster.schemas import CheckinAreaCreate, TeamMemberCreate
from services.attendance.schemas import CheckinCreate
from services.attendance.supervision import service as supervision
from services.attendance.supervision.schemas import (
    ConductReportCreate,
    NotFoundCadre,
    SpotCheckCreate,
    TalkCreate,
    TalkEscalation,
    TalkProblem,
)
from services.common.auth import Caller
from services.common.db import Database
from services.common.jobs import JobScheduler, Period
from services.common.permissions import Role, permissions_of
from services.common.regions import region_prefix

TZ = ZoneInfo("Asia/Shanghai")
UNITS = ["县农业农村局", "县教育局", "县卫健局", "县财政局", "县交通运输局", "县水务局"]


@dataclass(frozen=True)
class Village:
    code: str
    name: str
    latitude: float  # the village committee, in WGS-84
    longitude: float


@dataclass(frozen=True)
class Term:
    """One cadre on one village's team, and how their month went."""

    cadre_id: UUID
    village: Village
    role: str
    unit: str
    contact_leader_id: UUID | None
    branch_secretary_id: UUID | None
    # diligent; gaps: a recent run of absences; flagged: suspect check-ins; slack: a dozen
    # scattered days away last month, below its minimum; new: joined the team today (the
    # demo team member, whose first check-in is the README's first flow)
    habit: str


def caller(user_id: UUID, role: Role, region_code: str) -> Caller:
    """Who the seed acts as: a demo user, or a synthetic cadre for themselves."""
    return Caller(
        user_id=user_id,
        roles=(role.value,),
        scope=region_prefix(region_code),
        permissions=permissions_of([role.value]),
    )


def villages_of(regions: list[tuple[str, str]]) -> list[Village]:
    """Each demo village somewhere in Pingshan's hills (synthetic, like the villages)."""
    placed = []
    for code, name in regions:
        rng = random.Random(f"place:{code}")
        position = (rng.uniform(28.45, 28.85), rng.uniform(103.95, 104.4))
        if code == "511529100201":  # the README's first check-in is made here
            position = (28.64, 104.16)
        placed.append(Village(code, name, *position))
    return placed


def teams(villages: list[Village], demo: dict[Role, UUID], demo_id) -> list[Term]:
    """A first secretary in every village; the demo village's team is the demo users', and
    the villages of its township (锦屏镇) have members too."""
    terms = []
    for n, village in enumerate(villages):
        rng = random.Random(f"team:{village.code}")
        township = village.code[:9]
        in_demo_village = village.code == "511529100201"
        leader = (
            demo[Role.CONTACT_LEADER]
            if township == "511529100"
            else demo_id("contact_leader", township)
        )
        branch = demo[Role.BRANCH_SECRETARY] if in_demo_village else demo_id("branch", village.code)
        habit = (
            "gaps"
            if n % 17 == 5
            else "flagged"
            if n % 13 == 3
            else "slack"
            if n % 29 == 11
            else "diligent"
        )
        secretary = (
            demo[Role.FIRST_SECRETARY] if in_demo_village else demo_id("cadre", village.code)
        )
        terms.append(
            Term(secretary, village, "first_secretary", rng.choice(UNITS), leader, None, habit)
        )
        if township == "511529100":
            members = [demo[Role.TEAM_MEMBER]] if in_demo_village else []
            members += [demo_id("member", village.code, k) for k in range(2 - len(members))]
            for k, member in enumerate(members):
                habit = "gaps" if (n + k) % 7 == 6 else "diligent"
                habit = "new" if member == demo[Role.TEAM_MEMBER] else habit
                terms.append(
                    Term(member, village, "member", rng.choice(UNITS), None, branch, habit)
                )
    return terms


def month_checkins(term: Term, first: date, last: date, away: set[date]) -> list[CheckinCreate]:
    """The term's morning check-ins from `first` to `last`, but for the days `away`."""
    rng = random.Random(f"checkins:{term.cadre_id}")
    made = []
    day = first
    while day <= last:
        if day not in away:
            at = datetime.combine(day, time(7, 30), TZ) + timedelta(minutes=rng.randint(0, 90))
            lat = term.village.latitude + rng.uniform(-0.002, 0.002)  # within ~200 m
            lon = term.village.longitude + rng.uniform(-0.002, 0.002)
            mock = False
            if term.habit == "flagged" and rng.random() < 0.15:
                if rng.random() < 0.5:
                    mock = True
                else:
                    lat += 0.03  # some 3 km off: outside the area
            made.append(
                CheckinCreate(
                    client_id=uuid5(term.cadre_id, f"checkin:{day}"),
                    cadre_id=term.cadre_id,
                    region_code=term.village.code,
                    latitude=lat,
                    longitude=lon,
                    coordinate_system="wgs84",
                    accuracy_m=round(rng.uniform(5, 30), 1),
                    device="demo-phone",
                    mock_location=mock,
                    client_time=at,
                )
            )
        day += timedelta(days=1)
    if term.habit == "flagged" and made:
        # Half an hour after one morning's check-in, a check-out in Chengdu: 两头跑.
        morning = made[len(made) // 2]
        made.append(
            morning.model_copy(
                update={
                    "client_id": uuid5(term.cadre_id, "checkout:chengdu"),
                    "kind": "checkout",
                    "latitude": 30.657,
                    "longitude": 104.066,
                    "client_time": morning.client_time + timedelta(minutes=30),
                }
            )
        )
    return made


def away_days(term: Term, first: date, last: date) -> set[date]:
    """The days a cadre did not check in: a run of absence for the `gaps` ones (recent, so
    the alert is fresh), now and then a missed day, and any leave."""
    rng = random.Random(f"away:{term.cadre_id}")
    span = (last - first).days + 1
    away = {first + timedelta(days=rng.randrange(span)) for _ in range(rng.randint(0, 2))}
    if term.habit == "gaps":
        end = last - timedelta(days=rng.randint(1, 6))
        away |= {end - timedelta(days=k) for k in range(rng.randint(3, 5))}
    if term.habit == "slack":
        last_month = (last.replace(day=1) - first).days
        away |= {first + timedelta(days=d) for d in rng.sample(range(last_month), 12)}
    return away


async def seed(db: Database, villages: list[Village], demo: dict[Role, UUID], demo_id) -> None:
    async with db.transaction() as session:
        if (await session.execute(text("SELECT 1 FROM team_member LIMIT 1"))).first():
            return  # seeded before
    admin = caller(demo[Role.COUNTY_ADMIN], Role.COUNTY_ADMIN, "511529000000")
    today = datetime.now(TZ).date()
    last = today - timedelta(days=1)
    first = (last.replace(day=1) - timedelta(days=1)).replace(day=1)  # last month's first
    terms = teams(villages, demo, demo_id)
    async with db.transaction() as session:
        for village in villages:
            centre = {"latitude": village.latitude, "longitude": village.longitude}
            area = {"kind": "circle", **centre, "radius_m": 500}
            await roster.add_area(
                session,
                CheckinAreaCreate(region_code=village.code, name="村委会", geometry=area),
                admin,
            )
        for term in terms:
            await roster.assign_member(
                session,
                TeamMemberCreate(
                    cadre_id=term.cadre_id,
                    region_code=term.village.code,
                    role=term.role,
                    unit_name=f"屏山{term.unit}",
                    term_start=today if term.habit == "new" else date(first.year, 1, 1),
                    contact_leader_id=term.contact_leader_id,
                    branch_secretary_id=term.branch_secretary_id,
                ),
                admin,
            )
    leaves = await seed_leave(db, terms, first, last, demo)
    away = {
        term.cadre_id: away_days(term, first, last) | leaves.get(term.cadre_id, set())
        for term in terms
        if term.habit != "new"
    }
    for term in (t for t in terms if t.habit != "new"):
        async with db.transaction() as session:
            for checkin in month_checkins(term, first, last, away[term.cadre_id]):
                await checkins.record_checkin(session, checkin, str(TZ))
    await seed_supervision(db, terms, away, first, demo)
    scheduler = JobScheduler(db, JOBS, timezone=str(TZ))
    day = first
    while day <= last:
        await scheduler.run_once(JOBS[0], Period.containing("day", day))
        day += timedelta(days=1)
    await scheduler.run_once(JOBS[1], Period.containing("month", first))


async def seed_leave(
    db: Database, terms: list[Term], first: date, last: date, demo: dict[Role, UUID]
) -> dict[UUID, set[date]]:
    """Leave, training and trips for some cadres (approved by the township), one request still
    pending and one refused; the days each approved one covers."""
    officer = caller(demo[Role.TOWNSHIP_OFFICER], Role.TOWNSHIP_OFFICER, "511529000000")
    covered: dict[UUID, set[date]] = {}
    terms = [t for t in terms if t.habit != "new"]
    plans = [
        (terms[0], "leave", 9, 2, "approved", "家中老人就医"),
        (terms[1], "training", 14, 3, "approved", "县委党校驻村干部培训"),
        (terms[2], "trip", 20, 1, "approved", "到县农业农村局汇报产业项目"),
        (terms[4], "leave", 3, 2, "approved", "子女升学"),
        (terms[6], "leave", 25, 2, "refused", "个人事务"),
        (terms[0], "leave", -7, 2, "pending", "春节前回乡探亲"),  # ahead of today
    ]
    for term, kind, offset, length, outcome, reason in plans:
        start = first + timedelta(days=offset) if offset >= 0 else last + timedelta(days=-offset)
        end = start + timedelta(days=length - 1)
        cadre = caller(term.cadre_id, Role.FIRST_SECRETARY, term.village.code)
        async with db.transaction() as session:
            request = await leave.request_leave(
                session,
                LeaveRequestCreate(
                    cadre_id=term.cadre_id, kind=kind, first_day=start, last_day=end, reason=reason
                ),
                cadre,
            )
            if outcome == "approved":
                await leave.decide(session, request.id, "approved", LeaveDecision(), officer)
                covered.setdefault(term.cadre_id, set()).update(
                    start + timedelta(days=k) for k in range(length)
                )
            elif outcome == "refused":
                note = LeaveDecision(note="本月有督查，请调整时间")
                await leave.decide(session, request.id, "refused", note, officer)
    return covered


async def seed_supervision(
    db: Database, terms: list[Term], away: dict[UUID, set[date]], first: date, demo: dict
) -> None:
    """明察暗访 of a dozen villages (the inspector missing a few cadres, on days they were
    away), heart-to-heart talks with 锦屏镇's first secretaries last month but two (one problem
    escalated), and the demo village's conduct supervisor's report on last month."""
    inspector = caller(demo[Role.INSPECTOR], Role.INSPECTOR, "511529000000")
    leader = caller(demo[Role.CONTACT_LEADER], Role.CONTACT_LEADER, "511529100000")
    supervisor = caller(demo[Role.CONDUCT_SUPERVISOR], Role.CONDUCT_SUPERVISOR, "511529100201")
    secretaries = [t for t in terms if t.role == "first_secretary"]
    async with db.transaction() as session:
        for n, term in enumerate(secretaries[::9]):
            missed = sorted(away[term.cadre_id])
            day = missed[-1] if missed and n % 2 else first + timedelta(days=3 + n)
            visit = datetime.combine(day, time(10, 30), TZ)
            present = day not in away[term.cadre_id]
            await supervision.record_spot_check(
                session,
                SpotCheckCreate(
                    client_id=uuid5(term.cadre_id, f"spot-check:{day}"),
                    region_code=term.village.code,
                    visited_at=visit,
                    notes="上午到村暗访" if present else "村委会无人，村民称数日未见第一书记",
                    found=[term.cadre_id] if present else [],
                    not_found=[] if present else [NotFoundCadre(cadre_id=term.cadre_id)],
                ),
                inspector,
                TZ,
            )
        township = [t for t in secretaries if t.village.code.startswith("511529100")]
        for n, term in enumerate(township[:-2]):
            problems = [TalkProblem(description="驻村住房漏雨", solved=False)] if n == 1 else []
            talk = await supervision.record_talk(
                session,
                TalkCreate(
                    cadre_id=term.cadre_id,
                    region_code=term.village.code,
                    talked_on=first + timedelta(days=10 + n),
                    topics="驻村生活和工作情况，产业项目进展",
                    problems=problems,
                    care="送去慰问品" if n % 3 == 0 else None,
                ),
                leader,
                TZ,
            )
            if problems:
                escalation = TalkEscalation(note="村里无力维修，请乡镇党委协调")
                await supervision.escalate_talk(session, talk.id, escalation, leader)
        demo_village = next(t.village for t in terms if t.village.code == "511529100201")
        await supervision.record_conduct_report(
            session,
            ConductReportCreate(
                region_code=demo_village.code,
                first_day=first,
                last_day=(first + timedelta(days=32)).replace(day=1) - timedelta(days=1),
                presence="mostly",
                conduct="工作队入户走访勤，群众反映较好；个别队员周末回城",
            ),
            supervisor,
            TZ,
        )
