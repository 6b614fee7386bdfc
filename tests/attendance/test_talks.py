"""谈心谈话: a contact leader's talks with the cadres (several a month if need be), the team
terms of a month whose cadre had none, and unsolved problems escalated to the township
party committee once; everything within the caller's region."""

from uuid import uuid4

import pytest

from services.common.testing import count_rows
from tests.attendance.factories import outbox_events, put_on_team, talk_body

URL = "/api/v1/attendance/talks"
VILLAGE = "511529100201"  # 锦屏一村, township 511529100
NEIGHBOUR = "511529100202"  # the same township
OTHER_TOWNSHIP_VILLAGE = "511529101201"
TOWNSHIP = "511529100000"


def cadres(terms: list[dict]) -> list[str]:
    return [term["cadre_id"] for term in terms]


async def test_a_contact_leader_records_talks_several_a_month_if_need_be(
    attendance, attendance_db, issuer
):
    leader_id = uuid4()
    secretary = await put_on_team(
        attendance, role="first_secretary", contact_leader_id=str(leader_id)
    )
    leader = issuer.headers("contact_leader", region_code=TOWNSHIP, user_id=leader_id)
    body = talk_body(
        secretary["cadre_id"],
        problems=[{"description": "孩子上学无人接送", "solved": False}],
        care="送去慰问品",
    )

    first = await attendance.post(URL, json=body, headers=leader)
    follow_up = await attendance.post(
        URL,
        json=talk_body(
            secretary["cadre_id"],
            talked_on="2026-11-27",
            problems=[{"description": "孩子上学无人接送", "solved": True}],
        ),
        headers=leader,
    )

    assert first.status_code == 201, first.text
    talk = first.json()
    assert first.headers["location"] == f"{URL}/{talk['id']}"
    assert (await attendance.get(first.headers["location"], headers=leader)).json() == talk
    assert (talk["held_by"], talk["member_id"], talk["role"]) == (
        str(leader_id),
        secretary["id"],
        "first_secretary",
    )
    assert (talk["care"], talk["escalated_at"]) == ("送去慰问品", None)
    assert follow_up.status_code == 201
    november = await attendance.get(
        URL, params={"month": "2026-11", "cadre_id": secretary["cadre_id"]}
    )
    assert [t["talked_on"] for t in november.json()["items"]] == ["2026-11-27", "2026-11-20"]
    audited = "action = 'attendance.talk.recorded' AND region_code = $1"
    assert await count_rows(attendance_db, "audit_entry", audited, VILLAGE) == 2


async def test_the_cadres_on_teams_that_month_without_a_talk_are_listed(attendance, issuer):
    talked_to = await put_on_team(attendance, role="first_secretary")
    talked_to_in_october = await put_on_team(attendance)
    never_talked_to = await put_on_team(attendance, region_code=NEIGHBOUR)
    arrived = await put_on_team(attendance, term_start="2026-11-16")
    moved = await put_on_team(attendance, term_end="2026-11-15")
    await put_on_team(
        attendance, cadre_id=moved["cadre_id"], region_code=NEIGHBOUR, term_start="2026-11-16"
    )
    await put_on_team(attendance, term_end="2026-10-31")  # gone before November
    await put_on_team(attendance, term_start="2026-12-01")  # came after it
    await put_on_team(attendance, region_code=OTHER_TOWNSHIP_VILLAGE)  # another township's
    for cadre, day in [
        (talked_to, "2026-11-20"),
        (talked_to_in_october, "2026-10-30"),
        (moved, "2026-11-03"),  # in the village they left: the talk is the cadre's, not the term's
    ]:
        talk = await attendance.post(URL, json=talk_body(cadre["cadre_id"], talked_on=day))
        assert talk.status_code == 201, talk.text
    officer = issuer.headers("township_officer", region_code=TOWNSHIP)
    november = {"month": "2026-11", "limit": 2}

    first = await attendance.get(f"{URL}/missing", params=november, headers=officer)
    cursor = first.json()["next_cursor"]
    rest = await attendance.get(
        f"{URL}/missing", params={**november, "cursor": cursor}, headers=officer
    )
    in_village = await attendance.get(
        f"{URL}/missing", params={"month": "2026-11", "region_code": NEIGHBOUR}, headers=officer
    )
    october = await attendance.get(f"{URL}/missing", params={"month": "2026-10"}, headers=officer)

    listed = first.json()["items"] + rest.json()["items"]
    expected = [talked_to_in_october, never_talked_to, arrived]
    assert sorted(m["id"] for m in listed) == sorted(m["id"] for m in expected)
    assert rest.json()["next_cursor"] is None
    assert cadres(in_village.json()["items"]) == [never_talked_to["cadre_id"]]
    assert talked_to_in_october["cadre_id"] not in cadres(october.json()["items"])
    assert talked_to["cadre_id"] in cadres(october.json()["items"])


async def test_an_unsolved_problem_is_escalated_to_the_township_once(
    attendance, attendance_db, issuer
):
    member = await put_on_team(attendance)
    leader_id = uuid4()
    await put_on_team(attendance, role="first_secretary", contact_leader_id=str(leader_id))
    leader = issuer.headers("contact_leader", region_code=TOWNSHIP, user_id=leader_id)
    problems = [
        {"description": "住宿漏雨", "solved": True},
        {"description": "派出单位拖欠驻村补助", "solved": False},
    ]
    talk = (
        await attendance.post(
            URL, json=talk_body(member["cadre_id"], problems=problems), headers=leader
        )
    ).json()
    escalate = f"{URL}/{talk['id']}/escalate"

    escalated = await attendance.post(escalate, json={"note": "需乡镇协调派出单位"}, headers=leader)
    again = await attendance.post(escalate, json={"note": "再次上报"}, headers=leader)

    assert escalated.status_code == 200, escalated.text
    assert (escalated.json()["escalated_by"], escalated.json()["escalation_note"]) == (
        str(leader_id),
        "需乡镇协调派出单位",
    )
    assert (again.status_code, again.json()["code"]) == (409, "talk_already_escalated")
    [event] = await outbox_events(attendance_db, "attendance.talk.escalated")
    assert (event["subject"], event["regioncode"]) == (talk["id"], VILLAGE)
    assert event["data"] == {
        "talk_id": talk["id"],
        "cadre_id": member["cadre_id"],
        "region_code": VILLAGE,
        "township_code": "511529100000",
        "talked_on": "2026-11-20",
        "held_by": str(leader_id),
        "unsolved_problems": ["派出单位拖欠驻村补助"],
        "note": "需乡镇协调派出单位",
        "escalated_by": str(leader_id),
    }
    escalations = await attendance.get(URL, params={"escalated": "true"}, headers=leader)
    assert [t["id"] for t in escalations.json()["items"]] == [talk["id"]]
    audited = "action = 'attendance.talk.escalated' AND target = $1"
    assert await count_rows(attendance_db, "audit_entry", audited, talk["id"]) == 1


async def test_a_talk_with_nothing_unsolved_has_nothing_to_escalate(attendance, attendance_db):
    member = await put_on_team(attendance)
    solved = [{"description": "住宿漏雨", "solved": True}]
    talk = (await attendance.post(URL, json=talk_body(member["cadre_id"], problems=solved))).json()

    response = await attendance.post(f"{URL}/{talk['id']}/escalate", json={"note": "上报"})

    assert (response.status_code, response.json()["code"]) == (409, "no_unsolved_problem")
    assert await count_rows(attendance_db, "outbox", "type = 'attendance.talk.escalated'") == 0


async def test_a_talk_is_with_a_cadre_on_the_team_and_not_yet_to_come(attendance, attendance_db):
    member = await put_on_team(attendance, term_start="2026-06-01")

    before_term = await attendance.post(
        URL, json=talk_body(member["cadre_id"], talked_on="2026-05-31")
    )
    other_village = await attendance.post(
        URL, json=talk_body(member["cadre_id"], region_code=NEIGHBOUR)
    )
    future = await attendance.post(URL, json=talk_body(member["cadre_id"], talked_on="2099-01-01"))
    unknown = await attendance.post(URL, json=talk_body(member["cadre_id"], mood="good"))

    assert (before_term.status_code, before_term.json()["code"]) == (422, "not_on_team")
    assert before_term.json()["errors"] == [
        {
            "field": "cadre_id",
            "message": f"{member['cadre_id']} is not on {VILLAGE}'s team on 2026-05-31",
        }
    ]
    assert (other_village.status_code, other_village.json()["code"]) == (422, "not_on_team")
    assert (future.status_code, future.json()["code"]) == (422, "talked_in_future")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "validation_failed")
    assert await count_rows(attendance_db, "talk") == 0


async def test_talks_stay_within_the_callers_township(attendance, attendance_db, issuer):
    member = await put_on_team(attendance)
    unsolved = [{"description": "补助未发", "solved": False}]
    talk = (
        await attendance.post(URL, json=talk_body(member["cadre_id"], problems=unsolved))
    ).json()
    other = issuer.headers("contact_leader", region_code="511529101000")

    read = await attendance.get(f"{URL}/{talk['id']}", headers=other)
    escalate = await attendance.post(
        f"{URL}/{talk['id']}/escalate", json={"note": "x"}, headers=other
    )
    write = await attendance.post(URL, json=talk_body(member["cadre_id"]), headers=other)
    listed = await attendance.get(URL, headers=other)
    missing = await attendance.get(f"{URL}/missing", params={"month": "2026-12"}, headers=other)

    assert (read.status_code, read.json()["code"]) == (404, "talk_not_found")
    assert escalate.status_code == 404
    assert (write.status_code, write.json()["code"]) == (403, "outside_scope")
    assert listed.json()["items"] == []
    assert missing.json()["items"] == []
    assert await count_rows(attendance_db, "outbox", "type = 'attendance.talk.escalated'") == 0


async def test_a_month_must_be_a_month(attendance):
    for month in ("2026-13", "2026-1", "0000-01", "November"):
        response = await attendance.get(f"{URL}/missing", params={"month": month})
        assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "month")
    assert (await attendance.get(f"{URL}/missing")).status_code == 422


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("inspector", "POST", URL),
        ("first_secretary", "POST", URL),
        ("conduct_supervisor", "GET", URL),
        ("viewer", "GET", f"{URL}/missing"),
    ],
)
async def test_roles_without_the_permission_are_refused(role, method, path, attendance, issuer):
    response = await attendance.request(method, path, json={}, headers=issuer.headers(role))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


async def test_a_contact_leader_talks_with_the_team_they_answer_for_only(attendance, issuer):
    leader_id, other_id = uuid4(), uuid4()
    secretary = await put_on_team(
        attendance, role="first_secretary", contact_leader_id=str(leader_id)
    )
    member = await put_on_team(attendance)  # on the same team
    elsewhere = await put_on_team(attendance, region_code=NEIGHBOUR)  # no first secretary of theirs
    leader = issuer.headers("contact_leader", region_code=TOWNSHIP, user_id=leader_id)
    other = issuer.headers("contact_leader", region_code=TOWNSHIP, user_id=other_id)
    officer = issuer.headers("township_officer", region_code=TOWNSHIP)

    answers = [
        await attendance.post(
            URL,
            json=talk_body(cadre["cadre_id"], region_code=cadre["region_code"]),
            headers=h,
        )
        for cadre, h in (
            (secretary, leader),
            (member, leader),
            (secretary, other),
            (elsewhere, leader),
            (elsewhere, officer),
        )
    ]

    assert [a.status_code for a in answers] == [201, 201, 403, 403, 201]
    assert answers[2].json()["code"] == "not_their_cadre"
