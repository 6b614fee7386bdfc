"""The festival calendar: the computed festivals on the days the published calendar gives, a
county's own (彝族年) set, listed among them, replaced and removed; a computed festival's code
refused; other counties and callers without the right kept out; bad input a 422, storing
nothing."""

from datetime import date

import pytest

from services.common.db import Database
from services.common.errors import Invalid, NotFound
from services.common.testing import count_rows
from services.notify.festivals import calendar, service

FESTIVALS = "/api/v1/notify/festivals"
PINGSHAN = "511529"  # 屏山县
YI_NEW_YEAR = f"{FESTIVALS}/{PINGSHAN}/yi_new_year/2026"

# The published days. From the State Council's holiday notices (国务院办公厅关于 2024, 2025,
# 2026 年部分节假日安排的通知): 2024 春节 2月10日, 端午 6月10日, 中秋 9月17日 (the holiday
# 15-17日); 2025 除夕 1月28日, 正月初七 2月4日, 端午 5月31日; 2026 腊月二十八 2月15日 and
# 正月初七 2月23日 (so 除夕 16日, 春节 17日), 端午 6月19日, 中秋 9月25日. The others (元宵,
# 七夕, 重阳, 清明, 2025's 中秋, all of 2027) as the published almanacs (万年历) give them;
# 2027's 清明 falls at 08:17 on 5 April, Beijing time.
PUBLISHED = {
    2024: {
        "spring_festival_eve": "2024-02-09",  # 腊月三十: the 12th month of 2023 had 30 days
        "spring_festival": "2024-02-10",
        "lantern": "2024-02-24",
        "qingming": "2024-04-04",
        "dragon_boat": "2024-06-10",
        "qixi": "2024-08-10",
        "mid_autumn": "2024-09-17",
        "double_ninth": "2024-10-11",
    },
    2025: {
        "spring_festival_eve": "2025-01-28",  # 腊月二十九: the 12th month of 2024 had 29 days
        "spring_festival": "2025-01-29",
        "lantern": "2025-02-12",
        "qingming": "2025-04-04",
        "dragon_boat": "2025-05-31",
        "qixi": "2025-08-29",
        "mid_autumn": "2025-10-06",  # a year with a leap 6th month: not 9月
        "double_ninth": "2025-10-29",
    },
    2026: {
        "spring_festival_eve": "2026-02-16",  # 腊月二十九 again (the notice: 2月15日 is 二十八)
        "spring_festival": "2026-02-17",
        "lantern": "2026-03-03",
        "qingming": "2026-04-05",
        "dragon_boat": "2026-06-19",
        "qixi": "2026-08-19",
        "mid_autumn": "2026-09-25",
        "double_ninth": "2026-10-18",
    },
    2027: {
        "spring_festival_eve": "2027-02-05",
        "spring_festival": "2027-02-06",
        "lantern": "2027-02-20",
        "qingming": "2027-04-05",
        "dragon_boat": "2027-06-09",
        "qixi": "2027-08-08",
        "mid_autumn": "2027-09-15",
        "double_ninth": "2027-10-08",
    },
}


@pytest.mark.parametrize("year", PUBLISHED)
def test_the_computed_festivals_fall_on_the_published_days(year):
    days = {f.code: f.day.isoformat() for f in calendar.festivals(year)}

    assert {code: days[code] for code in PUBLISHED[year]} == PUBLISHED[year]
    assert days["new_year"] == f"{year}-01-01"
    assert days["labour_day"] == f"{year}-05-01"
    assert days["national_day"] == f"{year}-10-01"
    assert set(days) == calendar.CODES


def test_a_year_outside_the_calendar_is_refused():
    for year in (calendar.MIN_YEAR - 1, calendar.MAX_YEAR + 1):
        with pytest.raises(calendar.YearOutOfRange):
            calendar.festivals(year)
    assert calendar.festivals(calendar.MIN_YEAR)[0].day == date(1901, 1, 1)
    assert calendar.spring_festival_eve(calendar.MAX_YEAR).year == calendar.MAX_YEAR


def yi_new_year(**overrides) -> dict:
    return {"name": "彝族年", "first_day": "2026-11-20", "last_day": "2026-11-22", **overrides}


async def listed(
    client, year: int = 2026, county_code: str | None = PINGSHAN, **kwargs
) -> list[dict]:
    params = {"year": year} if county_code is None else {"year": year, "county_code": county_code}
    response = await client.get(FESTIVALS, params=params, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_countys_yi_new_year_is_listed_in_order_among_the_computed_ones(notify, issuer):
    created = await notify.put(YI_NEW_YEAR, json=yi_new_year())
    township = issuer.headers("township_officer", region_code="511529101000")

    assert created.status_code == 201, created.text
    assert created.headers["location"] == YI_NEW_YEAR
    assert {k: created.json()[k] for k in ("county_code", "code", "year", "name")} == {
        "county_code": PINGSHAN,
        "code": "yi_new_year",
        "year": 2026,
        "name": "彝族年",
    }
    items = await listed(notify, headers=township)  # a township of the county reads it too
    assert [i["day"] for i in items] == sorted(i["day"] for i in items)
    assert [i["code"] for i in items][-3:] == ["national_day", "double_ninth", "yi_new_year"]
    assert items[-1] == {
        "code": "yi_new_year",
        "name": "彝族年",
        "name_en": "Yi New Year",
        "kind": "ethnic",
        "day": "2026-11-20",
        "last_day": "2026-11-22",
    }
    national = await listed(notify, county_code=None)  # no county: the computed ones
    assert [i["code"] for i in national] == [i["code"] for i in items[:-1]]


async def test_a_county_is_named_by_its_6_or_its_12_digit_code(notify):
    """Attendance's rules take the county's 12-digit division code; here both forms work."""
    created = await notify.put(f"{FESTIVALS}/511529000000/yi_new_year/2026", json=yi_new_year())
    township = await notify.put(f"{FESTIVALS}/511529100000/yi_new_year/2026", json=yi_new_year())

    assert created.status_code == 201, created.text
    assert created.json()["county_code"] == PINGSHAN
    assert [i["code"] for i in await listed(notify, county_code="511529000000")][-1] == (
        "yi_new_year"
    )
    assert (township.status_code, township.json()["code"]) == (422, "not_a_county")


async def test_the_same_county_code_and_year_again_replaces_it(notify, notify_db):
    first = (await notify.put(YI_NEW_YEAR, json=yi_new_year())).json()
    again = await notify.put(
        YI_NEW_YEAR, json=yi_new_year(first_day="2026-11-19", last_day="2026-11-21")
    )

    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["first_day"]) == (first["id"], "2026-11-19")
    [festival] = [i for i in await listed(notify) if i["kind"] == "ethnic"]
    assert (festival["day"], festival["last_day"]) == ("2026-11-19", "2026-11-21")
    assert await count_rows(notify_db, "county_festival") == 1
    assert await count_rows(notify_db, "audit_entry", "action = 'notify.festival.set'") == 2


async def test_a_festival_is_removed_for_its_year_only(notify, notify_db):
    await notify.put(YI_NEW_YEAR, json=yi_new_year())
    next_year = f"{FESTIVALS}/{PINGSHAN}/yi_new_year/2027"
    await notify.put(next_year, json=yi_new_year(first_day="2027-11-20", last_day="2027-11-22"))

    removed = await notify.delete(YI_NEW_YEAR)
    again = await notify.delete(YI_NEW_YEAR)

    assert removed.status_code == 204
    assert (again.status_code, again.json()["code"]) == (404, "festival_not_found")
    assert "yi_new_year" not in [i["code"] for i in await listed(notify)]
    assert "yi_new_year" in [i["code"] for i in await listed(notify, year=2027)]
    assert await count_rows(notify_db, "county_festival") == 1


async def test_a_computed_festivals_code_is_taken(notify, notify_db):
    answer = await notify.put(
        f"{FESTIVALS}/{PINGSHAN}/mid_autumn/2026",
        json=yi_new_year(name="中秋", first_day="2026-09-25", last_day="2026-09-25"),
    )

    assert (answer.status_code, answer.json()["code"]) == (409, "festival_code_taken")
    assert answer.headers["content-type"] == "application/problem+json"
    assert await count_rows(notify_db, "county_festival") == 0


async def test_other_counties_and_callers_without_the_right_are_kept_out(notify, notify_db, issuer):
    await notify.put(YI_NEW_YEAR, json=yi_new_year())
    elsewhere = issuer.headers("township_officer", region_code="511526101000")
    own_township = issuer.headers("township_officer", region_code="511529101000")
    other_admin = issuer.headers("county_admin", region_code="511526000000")

    read = await notify.get(
        FESTIVALS, params={"year": 2026, "county_code": PINGSHAN}, headers=elsewhere
    )
    answers = [
        await notify.put(YI_NEW_YEAR, json=yi_new_year(name="改"), headers=own_township),
        await notify.put(YI_NEW_YEAR, json=yi_new_year(name="改"), headers=other_admin),
        await notify.delete(YI_NEW_YEAR, headers=own_township),
        await notify.delete(YI_NEW_YEAR, headers=other_admin),
    ]

    assert (read.status_code, read.json()["code"]) == (404, "county_not_found")
    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (403, "permission_denied"),  # a township officer reads festivals, sets none
        (403, "outside_scope"),
        (403, "permission_denied"),
        (403, "outside_scope"),
    ]
    [festival] = [i for i in await listed(notify) if i["kind"] == "ethnic"]
    assert festival["name"] == "彝族年"
    assert await count_rows(notify_db, "audit_entry", "action LIKE 'notify.festival.%'") == 1


async def test_bad_input_is_a_422_problem_and_stores_nothing(notify, notify_db):
    gets = [
        {"year": 1900},
        {"year": 2100},
        {"year": "2026x"},
        {"year": 2026, "county_code": "5115"},
        {"county_code": PINGSHAN},
    ]
    puts = [
        (f"{FESTIVALS}/{PINGSHAN}/yi_new_year/2100", yi_new_year(first_day="2100-11-20")),
        (YI_NEW_YEAR, yi_new_year(first_day="2025-11-20", last_day="2025-11-22")),  # not 2026
        (YI_NEW_YEAR, yi_new_year(last_day="2026-11-19")),  # before the first day
        (YI_NEW_YEAR, yi_new_year(last_day="2027-11-22")),  # a year long
        (YI_NEW_YEAR, yi_new_year(name="")),
        (YI_NEW_YEAR, yi_new_year(name="  ")),
        (YI_NEW_YEAR, yi_new_year(name="彝族\x00年")),  # PostgreSQL's text takes no NUL
        (YI_NEW_YEAR, yi_new_year(first_day="2026-02-30")),
        (YI_NEW_YEAR, {**yi_new_year(), "kind": "ethnic"}),  # unknown field
        (YI_NEW_YEAR, {"name": "彝族年"}),
        (f"{FESTIVALS}/511500/yi_new_year/2026", yi_new_year()),  # a city, not a county
        (f"{FESTIVALS}/{PINGSHAN}/Yi-New-Year/2026", yi_new_year()),
        (f"{FESTIVALS}/{PINGSHAN}/yi_new_year/twenty", yi_new_year()),
    ]

    answers = [await notify.get(FESTIVALS, params=params) for params in gets]
    answers += [await notify.put(path, json=body) for path, body in puts]

    assert [a.status_code for a in answers] == [422] * len(answers), [a.text for a in answers]
    assert {a.headers["content-type"] for a in answers} == {"application/problem+json"}
    assert all(a.json().get("errors") for a in answers), [a.text for a in answers]
    assert [a.json()["code"] for a in answers[len(gets) :][:2]] == [
        "validation_failed",
        "first_day_outside_year",
    ]
    assert answers[-3].json()["code"] == "not_a_county"
    assert await count_rows(notify_db, "county_festival") == 0
    assert await count_rows(notify_db, "audit_entry") == 0


async def test_a_campaign_resolves_a_festival_to_its_day(notify, notify_db):
    await notify.put(YI_NEW_YEAR, json=yi_new_year())
    database = Database(notify_db)
    try:
        async with database.transaction() as session:
            mid_autumn = (await service.find_festival(session, PINGSHAN, "mid_autumn", 2027)).day
            yi = (await service.find_festival(session, PINGSHAN, "yi_new_year", 2026)).day
            with pytest.raises(NotFound):
                await service.find_festival(session, PINGSHAN, "yi_new_year", 2027)
            with pytest.raises(NotFound):
                await service.find_festival(session, "511526", "yi_new_year", 2026)
            with pytest.raises(Invalid):
                await service.find_festival(session, PINGSHAN, "mid_autumn", 2100)
            yi_days = await service.find_festival(session, PINGSHAN, "yi_new_year", 2026)
            listed_days = await service.festivals_for(session, PINGSHAN, 2026)
    finally:
        await database.dispose()

    assert (mid_autumn, yi) == (date(2027, 9, 15), date(2026, 11, 20))
    assert (yi_days.name, yi_days.kind, yi_days.days) == ("彝族年", "ethnic", 3)
    assert yi_days.last_day == date(2026, 11, 22)
    assert listed_days[-1] == yi_days
