"""The computed festivals of a year: pure functions, no I/O.

Lunar dates and the Qingming solar term come from lunar_python (6tail), which computes them
with the astronomical algorithms of 寿星天文历 in Beijing time, the reckoning the published
Chinese calendar uses. A year's festivals all fall in that Gregorian year: 除夕 is the eve of
the Spring Festival of the same year (never before 20 January), the Double Ninth at the latest
in early November.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from lunar_python import Lunar

FestivalKind = Literal["lunar", "solar", "ethnic"]
# The years the published calendars (and the holiday notices) are checked against; the
# library reaches further, but no county greets on a festival of 1850.
MIN_YEAR, MAX_YEAR = 1901, 2099


@dataclass(frozen=True)
class Festival:
    """节日: one festival of one year, from its first `day`; a county's ethnic festivals last
    some `days` (彝族年 about three), the others one."""

    code: str
    name: str
    name_en: str
    day: date
    kind: FestivalKind
    days: int = 1

    @property
    def last_day(self) -> date:
        return self.day + timedelta(days=self.days - 1)


# code, name, English name, lunar month and day
LUNAR = (
    ("spring_festival", "春节", "Spring Festival", 1, 1),
    ("lantern", "元宵节", "Lantern Festival", 1, 15),
    ("dragon_boat", "端午节", "Dragon Boat Festival", 5, 5),
    ("qixi", "七夕", "Qixi Festival", 7, 7),
    ("mid_autumn", "中秋节", "Mid-Autumn Festival", 8, 15),
    ("double_ninth", "重阳节", "Double Ninth Festival", 9, 9),
)
# code, name, English name, month and day. 七一 and 八一: the days teams visit old Party
# members and veterans (走访慰问老党员、退役军人).
SOLAR = (
    ("new_year", "元旦", "New Year's Day", 1, 1),
    ("labour_day", "劳动节", "Labour Day", 5, 1),
    ("party_day", "建党节", "Party Founding Day", 7, 1),
    ("army_day", "建军节", "Army Day", 8, 1),
    ("national_day", "国庆节", "National Day", 10, 1),
)
EVE = ("spring_festival_eve", "除夕", "Spring Festival Eve")
QINGMING = ("qingming", "清明节", "Qingming Festival")
CODES = frozenset(
    [code for code, *_ in LUNAR] + [code for code, *_ in SOLAR] + [EVE[0], QINGMING[0]]
)


class YearOutOfRange(ValueError):
    """A year the calendar is not computed for (MIN_YEAR to MAX_YEAR)."""


def _solar(lunar: Lunar) -> date:
    solar = lunar.getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def lunar_day(year: int, month: int, day: int) -> date:
    """The Gregorian date of a day of the lunar year `year` (its ordinary month, not a leap
    month of the same number)."""
    return _solar(Lunar.fromYmd(year, month, day))


def spring_festival_eve(year: int) -> date:
    """除夕: the last day of the 12th lunar month, the 29th or the 30th as the month has it,
    which is always the day before the Spring Festival."""
    return lunar_day(year, 1, 1) - timedelta(days=1)


def qingming(year: int) -> date:
    """清明: the day (Beijing time) the sun reaches 15° of ecliptic longitude, 4 or 5 April."""
    moment = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    return date(moment.getYear(), moment.getMonth(), moment.getDay())


def festivals(year: int) -> list[Festival]:
    """The computed festivals of `year`, by day."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise YearOutOfRange(year)
    found = [
        Festival(code, name, name_en, lunar_day(year, month, day), "lunar")
        for code, name, name_en, month, day in LUNAR
    ]
    found.append(Festival(*EVE, spring_festival_eve(year), "lunar"))
    found.append(Festival(*QINGMING, qingming(year), "solar"))
    found += [
        Festival(code, name, name_en, date(year, month, day), "solar")
        for code, name, name_en, month, day in SOLAR
    ]
    return sorted(found, key=lambda f: (f.day, f.code))
