"""Days in the village (在村天数): what each day of a cadre's term was, and whether a month
reached the county's minimum.

Plain functions over dates, no database: the day-status read model, the daily job and the
reports all judge days the same way. A day is the county's calendar day (its time zone); a
day counts as present with a valid check-in inside the village's area; approved leave,
training or an official trip explains a day without one; anything else is an absence.
"""

import calendar
import math
from collections.abc import Iterable, Mapping
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
class ApprovedAbsence:
    """Approved leave, training or a trip, covering `first` to `last`, both included."""

    kind: AbsenceKind
    first: date
    last: date

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


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


def day_status(day: date, present: set[date], absences: Iterable[ApprovedAbsence]) -> DayStatus:
    """A check-in inside the area beats everything; else what was approved; else absent."""
    if day in present:
        return DayStatus.PRESENT
    for absence in absences:
        if absence.covers(day):
            return DayStatus(absence.kind.value)
    return DayStatus.ABSENT


def statuses(
    first: date, last: date, present: set[date], absences: Iterable[ApprovedAbsence]
) -> dict[date, DayStatus]:
    """Each day from `first` to `last`, both included."""
    approved = list(absences)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return {day: day_status(day, present, approved) for day in days}


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


def counted_days(statuses: Iterable[DayStatus], rule: Rule) -> int:
    return sum(1 for status in statuses if rule.counts(status))


def evaluate_month(
    year: int,
    month: int,
    days: Mapping[date, DayStatus],
    rule: Rule,
    *,
    term_first: date,
    term_last: date | None = None,
) -> PeriodResult:
    """The month's result: the days of the term counted, against its share of the minimum."""
    length = calendar.monthrange(year, month)[1]
    first, last, required = required_days(
        rule.min_days_per_month,
        date(year, month, 1),
        date(year, month, length),
        term_first=term_first,
        term_last=term_last,
    )
    counted = counted_days((s for day, s in days.items() if first <= day <= last), rule)
    return PeriodResult(period=f"{year:04d}-{month:02d}", counted=counted, required=required)
