"""Days in the village, as plain functions: the county's calendar day, unexplained streaks
across a month end, what counts towards the minimum, and a term's share of it. (Each day's
status as check-ins, reviews and leave arrive is tested through the service, in
test_cadre_days.py; the evaluations over them in test_day_evaluation.py.)"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.attendance.days.rules import (
    AbsenceKind,
    DayStatus,
    Rule,
    absent_streak,
    counted_days,
    local_day,
    required_days,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def run_of(first: date, *statuses: DayStatus) -> dict[date, DayStatus]:
    return {first + timedelta(days=n): status for n, status in enumerate(statuses)}


def test_the_day_is_the_countys_calendar_day():
    late_evening_utc = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December

    assert local_day(late_evening_utc, SHANGHAI) == date(2026, 12, 1)


def test_an_unexplained_streak_runs_across_a_month_end_and_anything_explained_breaks_it():
    p, t, a = DayStatus.PRESENT, DayStatus.TRIP, DayStatus.ABSENT
    days = run_of(date(2026, 11, 25), a, p, t, t, a, a, a, a)  # 25 November to 2 December

    assert absent_streak(days, date(2026, 12, 2)) == 4  # 29, 30 November, 1, 2 December
    assert absent_streak(days, date(2026, 11, 28)) == 0  # on the trip
    assert absent_streak(days, date(2026, 11, 25)) == 1
    assert absent_streak(days, date(2026, 12, 3)) == 0  # a day not recorded is no absence


def test_twenty_days_a_month_is_the_default_minimum():
    _, _, required = required_days(20, *NOVEMBER, term_first=date(2026, 1, 1))

    assert required == 20
    assert counted_days({"present": 20, "absent": 10}, Rule()) == 20
    assert counted_days({"present": 19, "absent": 11}, Rule()) == 19


def test_training_and_trips_count_as_days_in_the_village_leave_does_not_unless_the_county_says():
    november = {"present": 15, "training": 3, "trip": 2, "leave": 5, "absent": 5}
    counting_leave = Rule(counted=frozenset(AbsenceKind))

    assert counted_days(november, Rule()) == 20
    assert counted_days(november, counting_leave) == 25


def test_a_term_that_starts_or_ends_within_the_period_owes_its_share_of_the_minimum():
    arrived = date(2026, 11, 16)  # 15 of November's 30 days

    assert required_days(20, *NOVEMBER, term_first=arrived) == (arrived, NOVEMBER[1], 10)
    assert required_days(20, *NOVEMBER, term_first=date(2026, 1, 1), term_last=arrived)[2] == 11
    assert required_days(20, *NOVEMBER, term_first=date(2026, 12, 1))[2] == 0
    year = (date(2026, 1, 1), date(2026, 12, 31))
    assert required_days(240, *year, term_first=date(2026, 7, 1))[2] == 121  # 184 of 365 days


@pytest.mark.parametrize("rule", [{"min_days_per_month": 32}, {"min_days_per_year": 400}])
def test_a_rule_beyond_the_calendar_is_refused(rule):
    with pytest.raises(ValueError):
        Rule(**rule)
