"""Quiet hours (免打扰): a county's default, its own set (by its 6- or 12-digit code), removed
again; greetings wait them out and alerts do not; only a caller over the whole county sets
them; bad input a 422 that stores nothing."""

import asyncio
from datetime import datetime, timedelta

from services.common.testing import count_rows, eventually
from tests.notify.factories import QUIET_HOURS, SHANGHAI, queued_message

PINGSHAN = f"{QUIET_HOURS}/511529"
PINGSHAN_12 = f"{QUIET_HOURS}/511529000000"
LATE = {"starts": "22:30", "ends": "07:00"}


async def test_a_county_without_its_own_has_the_default(notify, notify_db):
    answer = await notify.get(PINGSHAN)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "county_code": "511529",
        "starts": "21:00:00",
        "ends": "08:00:00",
        "default": True,
        "updated_by": None,
        "updated_at": None,
    }
    assert await count_rows(notify_db, "quiet_hours") == 0


async def test_a_countys_quiet_hours_are_set_read_and_removed(notify, notify_db, issuer):
    township = issuer.headers("township_officer", region_code="511529100000")

    put = await notify.put(PINGSHAN_12, json=LATE)  # attendance's form of the code
    read = await notify.get(PINGSHAN, headers=township)  # a township of the county reads it
    read_12 = await notify.get(PINGSHAN_12)
    removed = await notify.delete(PINGSHAN)
    again = await notify.delete(PINGSHAN_12)
    default = await notify.get(PINGSHAN)

    assert put.status_code == 200, put.text
    assert {k: put.json()[k] for k in ("county_code", "starts", "ends", "default")} == {
        "county_code": "511529",
        "starts": "22:30:00",
        "ends": "07:00:00",
        "default": False,
    }
    assert read.json() == put.json() == read_12.json()
    assert (removed.status_code, again.status_code) == (204, 204)
    assert (default.json()["starts"], default.json()["default"]) == ("21:00:00", True)
    assert await count_rows(notify_db, "quiet_hours") == 0
    assert await count_rows(notify_db, "audit_entry", "action LIKE 'notify.quiet_hours.%'") == 2


async def test_greetings_wait_out_the_countys_quiet_hours_and_alerts_do_not(notify, notify_db):
    now = datetime.now(SHANGHAI)

    def hours(start: timedelta, end: timedelta) -> dict:
        return {"starts": f"{now + start:%H:%M}", "ends": f"{now + end:%H:%M}"}

    def status(message) -> object:
        return count_rows(notify_db, "message", "id = $1 AND status = 'sent'", message)

    now_quiet = await notify.put(PINGSHAN, json=hours(timedelta(hours=-1), timedelta(hours=1)))
    greeting = await queued_message(notify_db)
    alert = await queued_message(notify_db, priority="alert")
    await eventually(lambda: status(alert), bool)
    await asyncio.sleep(0.3)  # a few of the dispatcher's rounds
    waited = await status(greeting)
    later = await notify.put(PINGSHAN, json=hours(timedelta(hours=1), timedelta(hours=2)))
    await eventually(lambda: status(greeting), bool)

    assert (now_quiet.status_code, later.status_code) == (200, 200)
    assert waited == 0


async def test_only_a_caller_over_the_whole_county_sets_them(notify, notify_db, issuer):
    township = issuer.headers("township_officer", region_code="511529100000")
    other_admin = issuer.headers("county_admin", region_code="511526000000")
    elsewhere = issuer.headers("township_officer", region_code="511526101000")
    helper = issuer.headers("helper", region_code="511529100201")

    answers = [
        await notify.put(PINGSHAN, json=LATE, headers=township),
        await notify.delete(PINGSHAN, headers=township),
        await notify.put(PINGSHAN_12, json=LATE, headers=other_admin),
        await notify.get(PINGSHAN, headers=elsewhere),
        await notify.get(PINGSHAN, headers=helper),
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (403, "outside_scope"),
        (403, "outside_scope"),
        (403, "outside_scope"),
        (404, "county_not_found"),
        (403, "permission_denied"),
    ]
    assert await count_rows(notify_db, "quiet_hours") == 0
    assert await count_rows(notify_db, "audit_entry") == 0


async def test_bad_input_is_a_422_and_stores_nothing(notify, notify_db):
    cases = [
        (PINGSHAN, {"starts": "21:00", "ends": "21:00"}, "quiet_hours_empty"),
        (PINGSHAN, {"starts": "25:00", "ends": "08:00"}, "validation_failed"),
        (PINGSHAN, {"starts": "21:00+08:00", "ends": "08:00"}, "validation_failed"),
        (PINGSHAN, {"starts": "21:00"}, "validation_failed"),
        (PINGSHAN, {**LATE, "county_code": "511529"}, "validation_failed"),
        (f"{QUIET_HOURS}/511529100000", LATE, "not_a_county"),  # a township
        (f"{QUIET_HOURS}/511500", LATE, "not_a_county"),  # a city
        (f"{QUIET_HOURS}/5115", LATE, "validation_failed"),
        (f"{QUIET_HOURS}/51152900000", LATE, "validation_failed"),
    ]

    answers = [await notify.put(path, json=body) for path, body, _ in cases]
    reads = [await notify.get(f"{QUIET_HOURS}/{code}") for code in ("511529100000", "pingshan")]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (422, code) for _, _, code in cases
    ], [a.text for a in answers]
    assert {a.headers["content-type"] for a in answers} == {"application/problem+json"}
    assert all(a.json().get("errors") for a in answers)
    assert [(a.status_code, a.json()["code"]) for a in reads] == [
        (422, "not_a_county"),
        (422, "validation_failed"),
    ]
    assert await count_rows(notify_db, "quiet_hours") == 0
    assert await count_rows(notify_db, "audit_entry") == 0
