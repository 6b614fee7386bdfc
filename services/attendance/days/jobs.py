"""The daily and monthly evaluation of days in the village (the kernel runs each once per
period, however many replicas run: services/common/jobs.py)."""

from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.attendance.days import events
from services.attendance.days import rules as days_rules
from services.attendance.days.rules import DayStatus, Rule, absent_streak
from services.attendance.days.schemas import MAX_ALERT_DELAY_DAYS, AttendanceRulePublic
from services.attendance.days.service import rule_for
from services.common.jobs import Job, Period
from services.common.regions import county_of

# Every cadre on a team that day has a day, even one with nothing in it: an absence. A cadre
# on two teams at once (stored before the roster refused it) counts once, in the latest term's
# village.
_TERMS_ON = """
    SELECT DISTINCT ON (cadre_id) * FROM team_member
    WHERE term_start <= :day AND (term_end IS NULL OR term_end >= :day)
    ORDER BY cadre_id, term_start DESC
"""
_MAKE_DAYS = text(
    "INSERT INTO cadre_day (cadre_id, day, region_code) "
    f"SELECT cadre_id, CAST(:day AS date), region_code FROM ({_TERMS_ON}) AS term "
    "ON CONFLICT (cadre_id, day) DO NOTHING"
)
# The unexplained days of the last week, each with the cadre's term that day: the daily job
# alerts the day each county's rule waits for (offline phones send late).
_ABSENT = text(
    "SELECT DISTINCT ON (cadre_day.cadre_id, cadre_day.day) term.*, cadre_day.day AS absent_on "
    "FROM cadre_day JOIN team_member AS term ON term.cadre_id = cadre_day.cadre_id "
    "AND term.term_start <= cadre_day.day "
    "AND (term.term_end IS NULL OR term.term_end >= cadre_day.day) "
    "WHERE cadre_day.day BETWEEN :first AND :day AND cadre_day.status = 'absent' "
    "ORDER BY cadre_day.cadre_id, cadre_day.day, term.term_start DESC"
)
_HISTORY = text(
    "SELECT cadre_id, day, status FROM cadre_day "
    "WHERE cadre_id = ANY(:cadres) AND day BETWEEN :since AND :day"
)
# How far back an unexplained streak is followed (a cadre gone longer is long since alerted).
LOOKBACK_DAYS = 366


class Rules:
    """The counties' rules, read once per run."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._rules: dict[str, AttendanceRulePublic] = {}

    async def of(self, region_code: str) -> AttendanceRulePublic:
        county = county_of(region_code)
        if county not in self._rules:
            self._rules[county] = await rule_for(self.session, county)
        return self._rules[county]


async def _histories(
    session: AsyncSession, cadres: list[Any], day: date
) -> dict[Any, dict[date, DayStatus]]:
    rows = await session.execute(
        _HISTORY, {"cadres": cadres, "since": day - timedelta(days=LOOKBACK_DAYS), "day": day}
    )
    days: dict[Any, dict[date, DayStatus]] = defaultdict(dict)
    for row in rows:
        days[row.cadre_id][row.day] = DayStatus(row.status)
    return days


async def evaluate_day(session: AsyncSession, period: Period) -> dict[str, Any]:
    """日评估: make the day of every cadre on a team, and alert each unexplained run of
    absences that reaches the county's threshold (`absence_alert_days`), and each further
    multiple of it: 3 days, then 6, then 9, not every day. A county that waits for offline
    phones (`absence_alert_delay_days`) has its runs judged that many days later, ending on
    the day they waited for."""
    day = period.start
    made = await session.execute(_MAKE_DAYS, {"day": day})
    first = day - timedelta(days=MAX_ALERT_DELAY_DAYS)
    recent = list(await session.execute(_ABSENT, {"first": first, "day": day}))
    counties, due = Rules(session), []
    for term in recent:
        rule = await counties.of(term.region_code)
        if term.absent_on == day - timedelta(days=rule.absence_alert_delay_days):
            due.append((term, rule.absence_alert_days))
    histories = await _histories(session, [term.cadre_id for term, _ in due], day)
    alerts = 0
    for term, threshold in due:
        streak = absent_streak(histories[term.cadre_id], term.absent_on)
        if streak >= threshold and streak % threshold == 0:
            await events.absence_detected(session, term, term.absent_on, streak)
            alerts += 1
    absent = sum(1 for term in recent if term.absent_on == day)
    return {"day": day.isoformat(), "made": made.rowcount, "absent": absent, "alerts": alerts}


# Each term's days of a month or a year by status, within the term, counted in the database
# (a province's year is some eighteen million days), and the first day the read model has of
# the cadre at all: the days before it were never recorded (the service or the cadre's county
# came later), so they are owed nothing rather than all counted absent.
_PERIOD = text(
    """
    SELECT term.*, covered.first_day AS covered_from,
        coalesce(days.statuses, '{}'::jsonb) AS statuses
    FROM team_member AS term
    CROSS JOIN LATERAL (
        SELECT min(day) AS first_day FROM cadre_day WHERE cadre_day.cadre_id = term.cadre_id
    ) AS covered
    LEFT JOIN LATERAL (
        SELECT jsonb_object_agg(status, n) AS statuses FROM (
            SELECT status, count(*) AS n FROM cadre_day
            WHERE cadre_day.cadre_id = term.cadre_id
              AND day BETWEEN greatest(term.term_start, :start)
                          AND least(coalesce(term.term_end, :last), :last)
            GROUP BY status
        ) AS by_status
    ) AS days ON TRUE
    WHERE term.term_start <= :last AND (term.term_end IS NULL OR term.term_end >= :start)
    """
)


async def _evaluate(
    session: AsyncSession, period: Period, minimum_of: Callable[[Rule], int | None]
) -> dict[str, Any]:
    """Each term's days of the period against its share of the county's minimum for such a
    period (`minimum_of` its rule; None: the county has none); those below it are published."""
    last = period.end - timedelta(days=1)
    terms = await session.execute(_PERIOD, {"start": period.start, "last": last})
    counties, evaluated, below = Rules(session), 0, 0
    for term in terms:
        rule = (await counties.of(term.region_code)).rule()
        minimum = minimum_of(rule)
        if minimum is None or term.covered_from is None:
            continue
        _, _, required = days_rules.required_days(
            minimum,
            period.start,
            last,
            term_first=max(term.term_start, term.covered_from),
            term_last=term.term_end,
        )
        counted = days_rules.counted_days(term.statuses, rule)
        result = days_rules.PeriodResult(period.kind, period.key, counted, required)
        evaluated += 1
        if result.below_minimum:
            await events.minimum_missed(session, term, result)
            below += 1
    return {period.kind: period.key, "terms": evaluated, "below_minimum": below}


async def evaluate_month(session: AsyncSession, period: Period) -> dict[str, Any]:
    """月评估: each term's days in the village that month against the county's minimum (its
    share of it, for a term that began or ended within the month). Runs after the month's last
    day was made (jobs run in the order listed)."""
    return await _evaluate(session, period, lambda rule: rule.min_days_per_month)


async def evaluate_year(session: AsyncSession, period: Period) -> dict[str, Any]:
    """年评估: in counties whose rule sets a yearly minimum (e.g. two thirds of the year), each
    term's days of the year against its share of it."""
    return await _evaluate(session, period, lambda rule: rule.min_days_per_year)


DAILY = Job("attendance-day-evaluation", "day", evaluate_day)
MONTHLY = Job("attendance-month-evaluation", "month", evaluate_month)
YEARLY = Job("attendance-year-evaluation", "year", evaluate_year)
