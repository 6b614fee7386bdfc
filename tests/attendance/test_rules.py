"""A county's attendance rule: the defaults until it sets its own, set whole by a county
admin, audited, and read by everyone within the county."""

from uuid import uuid4

from services.common.testing import count_rows
from tests.attendance.factories import as_user

RULE = "/api/v1/attendance/rules/511529000000"


async def test_a_county_has_the_defaults_until_it_sets_its_own(attendance, attendance_db):
    default = await attendance.get(RULE)
    changed = await attendance.put(
        RULE, json={"min_days_per_month": 22, "counted": ["training"], "absence_alert_days": 2}
    )
    read_back = await attendance.get(RULE)

    assert default.json()["is_default"] is True
    assert (default.json()["min_days_per_month"], default.json()["absence_alert_days"]) == (20, 3)
    assert default.json()["counted"] == ["training", "trip"]
    assert default.json()["approvers"]["first_secretary"] == ["township_officer"]
    assert changed.status_code == 200, changed.text
    assert read_back.json() == changed.json()
    assert read_back.json()["is_default"] is False
    assert (read_back.json()["min_days_per_month"], read_back.json()["counted"]) == (
        22,
        ["training"],
    )
    audited = "action = 'attendance.rule.set' AND detail->'before'->>'min_days_per_month' = '20'"
    assert await count_rows(attendance_db, "audit_entry", audited) == 1


async def test_everyone_in_the_county_reads_its_rule_only_its_admin_sets_it(attendance, issuer):
    cadre = as_user(issuer, "team_member", str(uuid4()))
    township = as_user(issuer, "township_officer", str(uuid4()), "511529100000")
    neighbour_admin = as_user(issuer, "county_admin", str(uuid4()), "511528000000")

    read = await attendance.get(RULE, headers=cadre)
    other_county = await attendance.get("/api/v1/attendance/rules/511528000000", headers=cadre)
    by_township = await attendance.put(RULE, json={}, headers=township)
    by_neighbour = await attendance.put(RULE, json={}, headers=neighbour_admin)

    assert read.status_code == 200
    assert (other_county.status_code, other_county.json()["code"]) == (404, "rule_not_found")
    assert (by_township.status_code, by_township.json()["code"]) == (403, "permission_denied")
    assert (by_neighbour.status_code, by_neighbour.json()["code"]) == (403, "outside_scope")


async def test_a_rule_that_cannot_hold_is_refused_and_nothing_is_stored(attendance, attendance_db):
    answers = [
        await attendance.put(RULE, json=body)
        for body in (
            {"min_days_per_month": 32},
            {"absence_alert_days": 0},
            {"counted": ["holiday"]},
            {"approvers": {"first_secretary": ["township_officer"]}},  # the others unnamed
            {"approvers": {"first_secretary": [], "team_leader": ["x"], "member": ["y"]}},
            {"max_travel_kmh": -1},
            {  # a viewer could never approve what the rule gave them
                "approvers": {
                    "first_secretary": ["viewer"],
                    "team_leader": ["first_secretary"],
                    "member": ["first_secretary"],
                }
            },
            {"surprise": True},
        )
    ]
    township_code = await attendance.put("/api/v1/attendance/rules/511529100000", json={})

    assert [a.status_code for a in answers] == [422] * 8
    assert (township_code.status_code, township_code.json()["code"]) == (422, "not_a_county")
    assert await count_rows(attendance_db, "attendance_rule") == 0
