"""审核: a reviewer accepts a flagged check-in or rejects it (it no longer counts); each
decision is audited and published; nobody reviews their own; outside one's region it is
not there."""

from uuid import uuid4

from services.common.testing import count_rows
from tests.attendance.factories import checkin_body, post_checkin


def review_path(checkin: dict) -> str:
    return f"/api/v1/attendance/checkins/{checkin['id']}/review"


async def test_a_township_officer_rejects_a_flagged_checkin_and_says_why(
    attendance, attendance_db, issuer
):
    flagged = (await post_checkin(attendance, issuer, checkin_body(mock_location=True))).json()
    officer = issuer.headers("township_officer", region_code="511529100000")

    rejected = await attendance.post(
        review_path(flagged),
        json={"decision": "rejected", "note": "模拟定位，本人不在村"},
        headers=officer,
    )

    assert rejected.status_code == 200
    assert (rejected.json()["review"], rejected.json()["review_note"]) == (
        "rejected",
        "模拟定位，本人不在村",
    )
    assert rejected.json()["flags"] == ["no_area", "mock_location"]
    reviewed = "type = 'attendance.checkin.reviewed'"
    assert await count_rows(attendance_db, "outbox", reviewed) == 1
    audited = "action = 'attendance.checkin.reviewed' AND region_code = '511529100201'"
    assert await count_rows(attendance_db, "audit_entry", audited) == 1


async def test_a_rejection_needs_a_reason_and_nobody_reviews_their_own(
    attendance, attendance_db, issuer
):
    cadre = uuid4()
    own = (await post_checkin(attendance, issuer, checkin_body(cadre_id=str(cadre)))).json()
    inspector = issuer.headers("inspector", region_code="511529000000")
    themselves = issuer.headers("inspector", region_code="511529000000", user_id=cadre)

    silent = await attendance.post(
        review_path(own), json={"decision": "rejected"}, headers=inspector
    )
    mine = await attendance.post(
        review_path(own), json={"decision": "accepted"}, headers=themselves
    )

    assert silent.status_code == 422
    assert (mine.status_code, mine.json()["code"]) == (403, "own_checkin")
    assert await count_rows(attendance_db, "outbox", "type = 'attendance.checkin.reviewed'") == 0


async def test_reviewing_is_a_permission_of_its_own(attendance, issuer):
    checkin = (await post_checkin(attendance, issuer)).json()
    member = issuer.headers("team_member", region_code="511529100201")
    elsewhere = issuer.headers("township_officer", region_code="511529101000")

    refused = await attendance.post(
        review_path(checkin), json={"decision": "accepted"}, headers=member
    )
    unseen = await attendance.post(
        review_path(checkin), json={"decision": "accepted"}, headers=elsewhere
    )

    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert (unseen.status_code, unseen.json()["code"]) == (404, "checkin_not_found")


async def test_the_same_decision_again_tells_nobody_twice(attendance, attendance_db, issuer):
    checkin = (await post_checkin(attendance, issuer, checkin_body(mock_location=True))).json()
    officer = issuer.headers("township_officer", region_code="511529100000")
    decision = {"decision": "accepted"}

    first = await attendance.post(review_path(checkin), json=decision, headers=officer)
    again = await attendance.post(review_path(checkin), json=decision, headers=officer)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["reviewed_at"] == first.json()["reviewed_at"]
    assert await count_rows(attendance_db, "outbox", "type = 'attendance.checkin.reviewed'") == 1
    assert (
        await count_rows(attendance_db, "audit_entry", "action = 'attendance.checkin.reviewed'")
        == 1
    )
