"""Leave, training and official trips: asked by the cadre, decided by whom the county's rule
names; overlapping requests refused; an approval by someone without the right refused; the
approved days explained in the day-status read model."""

import asyncio
from datetime import date, timedelta
from uuid import uuid4

from services.common.testing import count_rows
from tests.attendance.factories import as_user, ask_leave, outbox_events, put_on_team

LEAVE = "/api/v1/attendance/leave-requests"
DAYS = "/api/v1/attendance/cadre-days"
VILLAGE = "511529100201"
TOWNSHIP = "511529100000"


async def days_of(client, cadre_id: str, first: str, last: str) -> dict[str, str]:
    response = await client.get(DAYS, params={"cadre_id": cadre_id, "from": first, "to": last})
    assert response.status_code == 200, response.text
    return {d["day"]: d["status"] for d in response.json()["items"]}


async def test_a_member_asks_the_first_secretary_approves_and_the_days_read_as_leave(
    attendance, attendance_db, issuer
):
    member = await put_on_team(attendance, role="member")
    secretary_id = str(uuid4())
    secretary = as_user(issuer, "first_secretary", secretary_id)

    asked = await ask_leave(attendance, issuer, member)
    leave = asked.json()
    approved = await attendance.post(f"{LEAVE}/{leave['id']}/approve", headers=secretary)

    assert asked.status_code == 201, asked.text
    assert asked.headers["location"] == f"{LEAVE}/{leave['id']}"
    assert (leave["status"], leave["region_code"], leave["team_role"]) == (
        "pending",
        VILLAGE,
        "member",
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert await days_of(attendance, member["cadre_id"], "2026-11-09", "2026-11-13") == {
        "2026-11-10": "leave",
        "2026-11-11": "leave",
        "2026-11-12": "leave",
    }
    [requested] = await outbox_events(attendance_db, "attendance.leave.requested")
    [decided] = await outbox_events(attendance_db, "attendance.leave.approved")
    assert requested["data"]["leave_id"] == decided["data"]["leave_id"] == leave["id"]
    assert decided["data"]["decided_by"] == secretary_id
    assert (decided["data"]["first_day"], decided["data"]["last_day"]) == (
        "2026-11-10",
        "2026-11-12",
    )
    assert await count_rows(attendance_db, "audit_entry", "action LIKE 'attendance.leave.%'") == 2


async def test_a_first_secretarys_leave_is_the_townships_to_approve(attendance, issuer):
    leader = await put_on_team(attendance, role="first_secretary", contact_leader_id=str(uuid4()))
    leave = (await ask_leave(attendance, issuer, leader, kind="training")).json()
    other_secretary = as_user(issuer, "first_secretary", str(uuid4()))
    officer = as_user(issuer, "township_officer", str(uuid4()), TOWNSHIP)

    by_a_peer = await attendance.post(f"{LEAVE}/{leave['id']}/approve", headers=other_secretary)
    by_the_township = await attendance.post(f"{LEAVE}/{leave['id']}/approve", headers=officer)

    assert (by_a_peer.status_code, by_a_peer.json()["code"]) == (403, "not_the_approver")
    assert by_the_township.status_code == 200
    assert by_the_township.json()["status"] == "approved"


async def test_without_the_right_an_approval_is_refused_and_changes_nothing(
    attendance, attendance_db, issuer
):
    member = await put_on_team(attendance, role="member")
    leave = (await ask_leave(attendance, issuer, member)).json()
    approve = f"{LEAVE}/{leave['id']}/approve"
    team_mate = as_user(issuer, "team_member", str(uuid4()))
    contact_leader = as_user(issuer, "contact_leader", str(uuid4()), TOWNSHIP)
    themselves = as_user(issuer, "first_secretary", member["cadre_id"])
    elsewhere = as_user(issuer, "township_officer", str(uuid4()), "511529101000")

    answers = [
        await attendance.post(approve, headers=headers)
        for headers in (team_mate, contact_leader, themselves, elsewhere)
    ]

    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (403, "permission_denied"),
        (403, "not_the_approver"),  # not in the county's default list for members
        (403, "own_leave"),
        (404, "leave_request_not_found"),  # another township's request is not there
    ]
    assert (await attendance.get(f"{LEAVE}/{leave['id']}")).json()["status"] == "pending"
    assert await count_rows(attendance_db, "cadre_day") == 0
    assert await outbox_events(attendance_db, "attendance.leave.approved") == []


async def test_the_countys_rule_names_the_approvers_and_a_contact_leader_approves_only_their_own(
    attendance, issuer
):
    own_leader = str(uuid4())
    leader = await put_on_team(attendance, role="first_secretary", contact_leader_id=own_leader)
    rule = {
        "approvers": {
            "first_secretary": ["contact_leader"],
            "team_leader": ["first_secretary"],
            "member": ["first_secretary"],
        }
    }
    assert (await attendance.put("/api/v1/attendance/rules/511529000000", json=rule)).is_success
    leave = (await ask_leave(attendance, issuer, leader)).json()
    approve = f"{LEAVE}/{leave['id']}/approve"

    another_leader = await attendance.post(
        approve, headers=as_user(issuer, "contact_leader", str(uuid4()), TOWNSHIP)
    )
    township = await attendance.post(
        approve, headers=as_user(issuer, "township_officer", str(uuid4()), TOWNSHIP)
    )
    their_leader = await attendance.post(
        approve,
        json={"note": "同意，注意安全"},
        headers=as_user(issuer, "contact_leader", own_leader, TOWNSHIP),
    )

    assert (another_leader.status_code, another_leader.json()["code"]) == (403, "not_the_approver")
    assert (township.status_code, township.json()["code"]) == (403, "not_the_approver")
    assert their_leader.status_code == 200
    assert their_leader.json()["decision_note"] == "同意，注意安全"


async def test_a_county_may_name_the_branch_secretary_who_approves_only_their_own_members(
    attendance, issuer
):
    own = str(uuid4())
    member = await put_on_team(attendance, role="member", branch_secretary_id=own)
    rule = {
        "approvers": {
            "first_secretary": ["township_officer"],
            "team_leader": ["township_officer"],
            "member": ["branch_secretary"],
        }
    }
    assert (await attendance.put("/api/v1/attendance/rules/511529000000", json=rule)).is_success
    approve = f"{LEAVE}/{(await ask_leave(attendance, issuer, member)).json()['id']}/approve"

    another = await attendance.post(
        approve, headers=as_user(issuer, "branch_secretary", str(uuid4()))
    )
    theirs = await attendance.post(approve, headers=as_user(issuer, "branch_secretary", own))

    assert (another.status_code, another.json()["code"]) == (403, "not_the_approver")
    assert theirs.json()["status"] == "approved"


async def test_a_request_overlapping_another_is_a_conflict_even_sent_at_once(
    attendance, attendance_db, issuer
):
    member = await put_on_team(attendance)
    await ask_leave(attendance, issuer, member, first_day="2026-11-10", last_day="2026-11-12")

    overlapping = await ask_leave(
        attendance, issuer, member, first_day="2026-11-12", last_day="2026-11-14"
    )
    after = await ask_leave(
        attendance, issuer, member, first_day="2026-11-13", last_day="2026-11-14"
    )
    together = await asyncio.gather(
        *(
            ask_leave(attendance, issuer, member, first_day="2026-11-20", last_day="2026-11-21")
            for _ in range(2)
        )
    )

    assert (overlapping.status_code, overlapping.json()["code"]) == (409, "leave_overlaps")
    assert after.status_code == 201
    assert sorted(r.status_code for r in together) == [201, 409]
    assert await count_rows(attendance_db, "leave_request") == 3


async def test_a_refused_request_frees_its_days_and_a_refusal_says_why(
    attendance, attendance_db, issuer
):
    member = await put_on_team(attendance)
    leave = (await ask_leave(attendance, issuer, member)).json()
    officer = as_user(issuer, "township_officer", str(uuid4()), TOWNSHIP)

    silent = await attendance.post(f"{LEAVE}/{leave['id']}/refuse", json={}, headers=officer)
    refused = await attendance.post(
        f"{LEAVE}/{leave['id']}/refuse", json={"note": "近期有督查，请暂缓"}, headers=officer
    )
    again = await attendance.post(f"{LEAVE}/{leave['id']}/approve", headers=officer)
    anew = await ask_leave(attendance, issuer, member)

    assert silent.status_code == 422
    assert refused.json()["status"] == "refused"
    assert (again.status_code, again.json()["code"]) == (409, "leave_already_decided")
    assert anew.status_code == 201
    assert len(await outbox_events(attendance_db, "attendance.leave.refused")) == 1
    assert await count_rows(attendance_db, "cadre_day") == 0


async def test_approved_leave_not_yet_begun_can_be_withdrawn_and_its_days_are_free_again(
    attendance, issuer
):
    member = await put_on_team(attendance, term_end=None)
    cadre = as_user(issuer, "team_member", member["cadre_id"])
    officer = as_user(issuer, "township_officer", str(uuid4()), TOWNSHIP)
    ahead = date.today() + timedelta(days=30)
    first, last = ahead.isoformat(), (ahead + timedelta(days=2)).isoformat()
    future = await ask_leave(attendance, issuer, member, first_day=first, last_day=last)
    past = await ask_leave(attendance, issuer, member)
    for leave in (future.json(), past.json()):
        await attendance.post(f"{LEAVE}/{leave['id']}/approve", headers=officer)
    approved_days = await days_of(attendance, member["cadre_id"], first, last)

    withdrawn = await attendance.post(f"{LEAVE}/{future.json()['id']}/cancel", headers=cadre)
    too_late = await attendance.post(f"{LEAVE}/{past.json()['id']}/cancel", headers=cadre)
    by_another = await attendance.post(f"{LEAVE}/{past.json()['id']}/cancel", headers=officer)

    assert list(approved_days.values()) == ["leave"] * 3
    assert withdrawn.json()["status"] == "cancelled"
    assert await days_of(attendance, member["cadre_id"], first, last) == {}  # no days yet
    assert (too_late.status_code, too_late.json()["code"]) == (409, "leave_not_cancellable")
    assert by_another.status_code == 403


async def test_bad_requests_are_refused_and_store_nothing(attendance, attendance_db, issuer):
    member = await put_on_team(attendance, term_start="2026-01-01", term_end="2026-12-31")
    somebody = as_user(issuer, "team_member", str(uuid4()))

    backwards = await ask_leave(
        attendance, issuer, member, first_day="2026-11-12", last_day="2026-11-10"
    )
    beyond_term = await ask_leave(
        attendance, issuer, member, first_day="2026-12-30", last_day="2027-01-02"
    )
    unknown_kind = await ask_leave(attendance, issuer, member, kind="holiday")
    for_another = await attendance.post(
        LEAVE,
        json={
            "cadre_id": member["cadre_id"],
            "kind": "leave",
            "first_day": "2026-11-10",
            "last_day": "2026-11-10",
            "reason": "代请",
        },
        headers=somebody,
    )

    assert backwards.status_code == 422
    assert (beyond_term.status_code, beyond_term.json()["code"]) == (422, "not_on_team")
    assert unknown_kind.status_code == 422
    assert (for_another.status_code, for_another.json()["code"]) == (403, "leave_for_another")
    assert await count_rows(attendance_db, "leave_request") == 0
    assert await count_rows(attendance_db, "outbox") == 1  # the roster's own event only
