"""Days in the village: each day's status, unexplained streaks and the month's minimum, across
month ends, leave, training and terms that start mid-month."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.attendance.days.rules import (
    AbsenceKind,
    ApprovedAbsence,
    DayStatus,
    Rule,
    absent_streak,
    day_status,
    evaluate_month,
    local_day,
    statuses,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def days_of(first: date, count: int) -> set[date]:
    return {first + timedelta(days=n) for n in range(count)}


def test_a_check_in_makes_a_day_present_even_within_approved_leave():
    leave = ApprovedAbsence(AbsenceKind.LEAVE, date(2026, 11, 10), date(2026, 11, 12))

    assert day_status(date(2026, 11, 11), {date(2026, 11, 11)}, [leave]) is DayStatus.PRESENT
    assert day_status(date(2026, 11, 12), set(), [leave]) is DayStatus.LEAVE
    assert day_status(date(2026, 11, 13), set(), [leave]) is DayStatus.ABSENT


def test_the_day_is_the_countys_calendar_day():
    late_evening_utc = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December

    assert local_day(late_evening_utc, SHANGHAI) == date(2026, 12, 1)


def test_leave_over_a_month_end_explains_days_in_both_months():
    leave = ApprovedAbsence(AbsenceKind.LEAVE, date(2026, 1, 30), date(2026, 2, 2))

    days = statuses(date(2026, 1, 29), date(2026, 2, 3), set(), [leave])

    assert [days[d] for d in sorted(days)] == [
        DayStatus.ABSENT,
        DayStatus.LEAVE,
        DayStatus.LEAVE,
        DayStatus.LEAVE,
        DayStatus.LEAVE,
        DayStatus.ABSENT,
    ]


def test_an_unexplained_streak_runs_across_a_month_end_and_anything_explained_breaks_it():
    present = {date(2026, 11, 26)}
    trip = ApprovedAbsence(AbsenceKind.TRIP, date(2026, 11, 27), date(2026, 11, 28))
    days = statuses(date(2026, 11, 25), date(2026, 12, 2), present, [trip])

    assert absent_streak(days, date(2026, 12, 2)) == 4  # 29, 30 November, 1, 2 December
    assert absent_streak(days, date(2026, 11, 28)) == 0  # on the trip
    assert absent_streak(days, date(2026, 11, 25)) == 1


def test_twenty_days_a_month_is_the_default_minimum():
    november = date(2026, 11, 1)
    twenty = statuses(november, date(2026, 11, 30), days_of(november, 20), [])
    nineteen = statuses(november, date(2026, 11, 30), days_of(november, 19), [])

    met = evaluate_month(2026, 11, twenty, Rule(), term_first=date(2026, 1, 1))
    short = evaluate_month(2026, 11, nineteen, Rule(), term_first=date(2026, 1, 1))

    assert (met.counted, met.required, met.below_minimum) == (20, 20, False)
    assert (short.counted, short.below_minimum) == (19, True)


def test_training_and_trips_count_as_days_in_the_village_leave_does_not_unless_the_county_says():
    november = date(2026, 11, 1)
    present = days_of(november, 15)
    away = [
        ApprovedAbsence(AbsenceKind.TRAINING, date(2026, 11, 16), date(2026, 11, 18)),
        ApprovedAbsence(AbsenceKind.TRIP, date(2026, 11, 19), date(2026, 11, 20)),
        ApprovedAbsence(AbsenceKind.LEAVE, date(2026, 11, 21), date(2026, 11, 25)),
    ]
    days = statuses(november, date(2026, 11, 30), present, away)
    counting_leave = Rule(counted=frozenset(AbsenceKind))

    by_default = evaluate_month(2026, 11, days, Rule(), term_first=date(2026, 1, 1))
    generous = evaluate_month(2026, 11, days, counting_leave, term_first=date(2026, 1, 1))

    assert (by_default.counted, by_default.below_minimum) == (20, False)
    assert generous.counted == 25


def test_a_term_that_starts_mid_month_owes_its_share_of_the_minimum():
    arrived = date(2026, 11, 16)  # 15 of November's 30 days
    days = statuses(arrived, date(2026, 11, 30), days_of(arrived, 10), [])

    month = evaluate_month(2026, 11, days, Rule(), term_first=arrived)
    before_arrival = evaluate_month(2026, 10, {}, Rule(), term_first=arrived)

    assert (month.required, month.counted, month.below_minimum) == (10, 10, False)
    assert (before_arrival.required, before_arrival.below_minimum) == (0, False)


@pytest.mark.parametrize("rule", [{"min_days_per_month": 32}, {"min_days_per_year": 400}])
def test_a_rule_beyond_the_calendar_is_refused(rule):
    with pytest.raises(ValueError):
        Rule(**rule)
