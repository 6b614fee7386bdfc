"""Days in the village (在村天数): the county's rule, unexplained streaks, and whether a month
or a year reached the county's minimum.

Plain functions over dates, no database. A day is the county's calendar day (its time zone);
it is present with a valid check-in inside the village's area; approved leave, training or an
official trip explains a day without one; anything else is an absence (the day-status read
model's status column says the same: days/models.py).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class DayStatus(StrEnum):
    PRESENT = "present"  # 在村
    LEAVE = "leave"  # 请假
    TRAINING = "training"  # 培训
    TRIP = "trip"  # 公出
    ABSENT = "absent"  # 缺勤: no check-in and nothing approved explains it


class AbsenceKind(StrEnum):
    """What an approved request covers: leave, training, an official trip."""

    LEAVE = "leave"
    TRAINING = "training"
    TRIP = "trip"


@dataclass(frozen=True)
class Rule:
    """A county's rule: the minimum days a month (and a year) counted in the village, and
    which approved absences count as days in the village (training and official trips do by
    default, personal leave does not)."""

    min_days_per_month: int = 20
    min_days_per_year: int | None = None  # e.g. two thirds of the year; None: no yearly rule
    counted: frozenset[AbsenceKind] = field(
        default_factory=lambda: frozenset({AbsenceKind.TRAINING, AbsenceKind.TRIP})
    )

    def __post_init__(self) -> None:
        if not 0 <= self.min_days_per_month <= 31:
            raise ValueError("min_days_per_month must lie between 0 and 31")
        if self.min_days_per_year is not None and not 0 <= self.min_days_per_year <= 366:
            raise ValueError("min_days_per_year must lie between 0 and 366")

    def counts(self, status: DayStatus) -> bool:
        """Whether a day of this status counts towards the minimum."""
        return status is DayStatus.PRESENT or (
            status is not DayStatus.ABSENT and AbsenceKind(status.value) in self.counted
        )


def local_day(moment: datetime, timezone: ZoneInfo) -> date:
    """The county's calendar day of a moment (a check-in at 23:30 UTC is the next day in
    Asia/Shanghai)."""
    return moment.astimezone(timezone).date()


def absent_streak(days: Mapping[date, DayStatus], until: date) -> int:
    """Consecutive unexplained absences ending on `until` (0 if `until` was not an absence):
    what the daily job compares with the county's threshold, across month ends too."""
    streak, day = 0, until
    while days.get(day) is DayStatus.ABSENT:
        streak += 1
        day -= timedelta(days=1)
    return streak


@dataclass(frozen=True)
class PeriodResult:
    """A cadre's month or year: the days counted, the days required of their term's days in it."""

    kind: str  # month, year
    period: str  # YYYY-MM or YYYY
    counted: int
    required: int

    @property
    def below_minimum(self) -> bool:
        return self.counted < self.required


def required_days(
    minimum: int, first: date, last: date, *, term_first: date, term_last: date | None = None
) -> tuple[date, date, int]:
    """The days from `first` to `last` (a month, a year) the term covers, and the minimum they
    owe: a term that starts or ends within the period owes its share of the period's `minimum`
    (rounded up), so a cadre who arrived on the 16th of a 30-day month owes 10 of 20."""
    length = (last - first).days + 1
    served_first, served_last = max(first, term_first), min(last, term_last or last)
    served = max(0, (served_last - served_first).days + 1)
    return served_first, served_last, math.ceil(minimum * served / length)


def counted_days(counts: Mapping[str, int], rule: Rule) -> int:
    """The days that count towards the minimum, of the days counted by status."""
    return sum(n for status, n in counts.items() if rule.counts(DayStatus(status)))
