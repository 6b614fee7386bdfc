"""The work teams: terms kept as history, one first secretary at a time, scope, events."""

import asyncio
from uuid import UUID, uuid4

import pytest

from services.common.testing import count_rows
from tests.attendance.factories import outbox_events, team_member_body

URL = "/api/v1/attendance/team-members"
VILLAGE = "511529100201"  # a village of township 511529100
OTHER_TOWNSHIP_VILLAGE = "511529101201"


async def roster_events(url: str) -> list[dict]:
    return await outbox_events(url, "attendance.roster.changed")


async def test_a_term_is_stored_and_announced(attendance, attendance_db):
    body = team_member_body(role="first_secretary", contact_leader_id=str(uuid4()))
    response = await attendance.post(URL, json=body)

    assert response.status_code == 201
    member = response.json()
    assert response.headers["location"] == f"{URL}/{member['id']}"
    assert (await attendance.get(response.headers["location"])).json() == member
    assert member["end_cause"] is None
    [event] = await roster_events(attendance_db)
    assert event["subject"] == member["id"]
    assert event["regioncode"] == VILLAGE
    assert event["data"] == {
        "member_id": member["id"],
        "cadre_id": body["cadre_id"],
        "region_code": VILLAGE,
        "role": "first_secretary",
        "unit_name": body["unit_name"],
        "unit_code": None,
        "term_start": "2026-01-01",
        "term_end": "2027-12-31",
        "contact_leader_id": body["contact_leader_id"],
        "branch_secretary_id": None,
        "change": "assigned",
        "end_cause": None,
    }
    audited = "action = 'attendance.roster.assigned' AND target = $1 AND region_code = $2"
    assert await count_rows(attendance_db, "audit_entry", audited, member["id"], VILLAGE) == 1


async def on_the_team(client, day: str, **params: str) -> list[str]:
    page = await client.get(URL, params={"on": day, **params})
    return [member["id"] for member in page.json()["items"]]


async def test_an_ended_term_stays_on_the_team_of_its_past_days(attendance, attendance_db):
    cadre = str(uuid4())
    first = (await attendance.post(URL, json=team_member_body(cadre_id=cadre))).json()
    ended = await attendance.post(
        f"{URL}/{first['id']}/end",
        json={"last_day": "2026-06-30", "cause": "recalled", "reason": "派出单位召回"},
    )
    moved = team_member_body(cadre_id=cadre, region_code="511529100202", term_start="2026-07-01")
    second = (await attendance.post(URL, json=moved)).json()

    assert ended.status_code == 200
    assert ended.json()["term_end"] == "2026-06-30"
    assert ended.json()["end_cause"] == "recalled"
    assert ended.json()["end_reason"] == "派出单位召回"
    village = {"region_code": VILLAGE}
    assert await on_the_team(attendance, "2026-03-15", **village) == [first["id"]]
    assert await on_the_team(attendance, "2026-06-30", **village) == [first["id"]]  # last day
    assert await on_the_team(attendance, "2026-07-01", **village) == []
    assert await on_the_team(attendance, "2026-03-15", cadre_id=cadre) == [first["id"]]
    assert await on_the_team(attendance, "2026-07-01", cadre_id=cadre) == [second["id"]]
    assert await count_rows(attendance_db, "team_member") == 2  # history: nothing deleted
    changes = [e["data"]["change"] for e in await roster_events(attendance_db)]
    assert changes == ["assigned", "ended", "assigned"]


async def test_a_term_ends_once_and_within_itself(attendance, attendance_db):
    member = (await attendance.post(URL, json=team_member_body())).json()
    end = f"{URL}/{member['id']}/end"
    before_start = await attendance.post(
        end, json={"last_day": "2025-12-31", "cause": "completed", "reason": "期满"}
    )
    done = await attendance.post(
        end, json={"last_day": "2027-12-31", "cause": "completed", "reason": "期满"}
    )
    again = await attendance.post(
        end, json={"last_day": "2027-12-31", "cause": "replaced", "reason": "轮换"}
    )

    assert before_start.status_code == 422
    assert before_start.json()["code"] == "last_day_outside_term"
    assert done.status_code == 200
    assert again.status_code == 409
    assert again.json()["code"] == "term_already_ended"
    assert (await attendance.get(f"{URL}/{member['id']}")).json()["end_cause"] == "completed"
    assert await count_rows(attendance_db, "outbox") == 2


async def test_two_first_secretaries_of_a_village_may_not_overlap(attendance, attendance_db):
    secretary = team_member_body(role="first_secretary", term_end=None)
    first = await attendance.post(URL, json=secretary)
    overlapping = await attendance.post(
        URL, json=team_member_body(role="first_secretary", term_start="2027-03-01")
    )
    await attendance.post(
        f"{URL}/{first.json()['id']}/end",
        json={"last_day": "2026-12-31", "cause": "replaced", "reason": "轮换"},
    )
    successor = await attendance.post(
        URL, json=team_member_body(role="first_secretary", term_start="2027-01-01")
    )
    neighbour = await attendance.post(
        URL, json=team_member_body(role="first_secretary", region_code="511529100202")
    )
    a_member = await attendance.post(URL, json=team_member_body(role="member"))

    assert first.status_code == 201
    assert overlapping.status_code == 409
    assert overlapping.headers["content-type"] == "application/problem+json"
    assert overlapping.json()["code"] == "first_secretary_overlaps"
    assert (successor.status_code, neighbour.status_code, a_member.status_code) == (201, 201, 201)
    assert await count_rows(attendance_db, "team_member", "role = 'first_secretary'") == 3


async def test_two_first_secretaries_sent_at_once_are_one_and_a_conflict(attendance, attendance_db):
    answers = await asyncio.gather(
        *(attendance.post(URL, json=team_member_body(role="first_secretary")) for _ in range(4))
    )

    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert await count_rows(attendance_db, "team_member") == 1


async def test_a_township_officer_manages_only_their_township(attendance, issuer):
    officer = issuer.headers("township_officer", region_code="511529100000")
    elsewhere = (
        await attendance.post(URL, json=team_member_body(region_code=OTHER_TOWNSHIP_VILLAGE))
    ).json()

    own = await attendance.post(URL, json=team_member_body(), headers=officer)
    outside = await attendance.post(
        URL, json=team_member_body(region_code=OTHER_TOWNSHIP_VILLAGE), headers=officer
    )
    read_elsewhere = await attendance.get(f"{URL}/{elsewhere['id']}", headers=officer)
    end_elsewhere = await attendance.post(
        f"{URL}/{elsewhere['id']}/end",
        json={"last_day": "2026-06-30", "cause": "recalled", "reason": "x"},
        headers=officer,
    )
    listed = await attendance.get(URL, headers=officer)

    assert own.status_code == 201
    assert outside.status_code == 403
    assert outside.json()["code"] == "outside_scope"
    assert read_elsewhere.status_code == 404
    assert read_elsewhere.json()["code"] == "team_member_not_found"
    assert end_elsewhere.status_code == 404
    assert [m["id"] for m in listed.json()["items"]] == [own.json()["id"]]


async def test_cadres_read_the_roster_and_do_not_change_it(attendance, issuer):
    secretary = issuer.headers("first_secretary", region_code=VILLAGE)
    member = (await attendance.post(URL, json=team_member_body())).json()

    read = await attendance.get(f"{URL}/{member['id']}", headers=secretary)
    write = await attendance.post(URL, json=team_member_body(), headers=secretary)

    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["code"] == "permission_denied"


BAD = {
    "unknown role": team_member_body(role="mayor"),
    "region code not 12 digits": team_member_body(region_code="5115"),
    "a township, not a village": team_member_body(region_code="511529100000"),
    "term ends before it starts": team_member_body(term_start="2026-05-01", term_end="2026-04-30"),
    "not a date": team_member_body(term_start="next spring"),
    "contact leader of a member": team_member_body(contact_leader_id=str(uuid4())),
    "branch secretary of a first secretary": team_member_body(
        role="first_secretary", branch_secretary_id=str(uuid4())
    ),
    "no unit": team_member_body(unit_name=""),
    "unknown field": team_member_body(salary=1),
}


@pytest.mark.parametrize("case", BAD)
async def test_bad_input_is_a_clear_422_and_stores_nothing(case, attendance, attendance_db):
    response = await attendance.post(URL, json=BAD[case])

    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert await count_rows(attendance_db, "team_member") == 0
    assert await count_rows(attendance_db, "outbox") == 0
    assert await count_rows(attendance_db, "audit_entry") == 0


async def test_a_bad_end_or_day_is_a_clear_422(attendance):
    member = (await attendance.post(URL, json=team_member_body())).json()

    bad_cause = await attendance.post(
        f"{URL}/{member['id']}/end",
        json={"last_day": "2026-06-30", "cause": "fired", "reason": "x"},
    )
    bad_day = await attendance.get(URL, params={"on": "2026-13-01"})

    assert bad_cause.status_code == 422
    assert bad_cause.json()["errors"][0]["field"] == "cause"
    assert bad_day.status_code == 422
    assert bad_day.json()["errors"][0]["field"] == "on"


async def test_a_cadre_is_on_one_team_at_a_time_and_moves_by_ending_the_first_term(
    attendance, attendance_db
):
    cadre = str(uuid4())
    first = await attendance.post(URL, json=team_member_body(cadre_id=cadre, term_end=None))
    elsewhere = team_member_body(
        cadre_id=cadre, region_code=OTHER_TOWNSHIP_VILLAGE, term_start="2026-07-01"
    )

    refused = await attendance.post(URL, json=elsewhere)
    ended = await attendance.post(
        f"{URL}/{first.json()['id']}/end",
        json={"last_day": "2026-06-30", "cause": "replaced", "reason": "轮换到二村"},
    )
    moved = await attendance.post(URL, json=elsewhere)

    assert (refused.status_code, refused.json()["code"]) == (409, "cadre_on_another_team")
    assert ended.status_code == 200
    assert moved.status_code == 201
    assert await count_rows(attendance_db, "team_member", "cadre_id = $1", UUID(cadre)) == 2
