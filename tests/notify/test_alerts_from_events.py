"""The seeded alert routes from real events through NATS, beyond absences: a month below the
minimum to the township's officers (of the cadre's township only), a spot check's "not found"
to each absent cadre's contact leader or branch secretary, once each."""

from datetime import UTC, date, datetime
from uuid import uuid4

from services.common.contracts.attendance import (
    MonthlyMinimumMissed,
    RosterChanged,
    SpotCheckAbsentee,
    SpotCheckRecorded,
    TalkEscalated,
)
from services.common.events import make_event
from services.common.testing import count_rows, eventually
from tests.common.events import publish
from tests.notify.factories import (
    ALERT_ROUTES,
    VILLAGE,
    add_contact,
    messages,
    route_body,
    settled,
)


async def test_a_month_below_the_minimum_reaches_the_townships_officers(
    notify, notify_db, nats_url
):
    jinping = await add_contact(
        notify_db, "锦屏镇干部", roles=("township_officer",), region_code="511529100000"
    )
    await add_contact(  # another township's: not theirs to follow up
        notify_db,
        "新安镇干部",
        phone="13800009999",
        roles=("township_officer",),
        region_code="511529101000",
    )
    cadre = await add_contact(notify_db, "李书记", roles=("first_secretary",))
    missed = MonthlyMinimumMissed(
        member_id=uuid4(),
        team_role="first_secretary",
        contact_leader_id=None,
        branch_secretary_id=None,
        unit_name="县农业农村局",
        unit_code=None,
        cadre_id=cadre,
        region_code=VILLAGE,
        month="2026-11",
        counted=14,
        required=20,
    )
    event = make_event(missed, source="/tests", subject=cadre, region_code=VILLAGE)
    await publish(nats_url, event)

    [alert] = await eventually(lambda: messages(notify, event_id=str(event.id)), settled)
    assert alert["recipient_id"] == str(jinping)
    assert alert["template"] == "monthly_minimum_alert"
    assert "李书记" in alert["body"] and "14" in alert["body"] and "20" in alert["body"]


async def test_a_spot_checks_absentees_reach_whoever_answers_for_each(notify, notify_db, nats_url):
    leader = await add_contact(notify_db, "王联系", roles=("contact_leader",))
    secretary = await add_contact(notify_db, "赵支书", phone="13800003333", roles=())
    found = uuid4()

    def absentee(role: str, **who) -> SpotCheckAbsentee:
        return SpotCheckAbsentee(
            cadre_id=uuid4(),
            member_id=uuid4(),
            role=role,
            unit_name="县教育局",
            unit_code=None,
            contact_leader_id=who.get("leader"),
            branch_secretary_id=who.get("secretary"),
            note="村民说已三天未见",
        )

    check = SpotCheckRecorded(
        spot_check_id=uuid4(),
        region_code=VILLAGE,
        visited_at=datetime(2026, 12, 3, 2, 30, tzinfo=UTC),
        visit_day=date(2026, 12, 3),
        inspector_id=uuid4(),
        found=(found,),
        absent=(
            absentee("first_secretary", leader=leader),
            absentee("member", secretary=secretary),
        ),
        excused=(),
    )
    event = make_event(check, source="/tests", subject=check.spot_check_id, region_code=VILLAGE)
    await publish(nats_url, event)
    await publish(nats_url, event, msg_id=str(uuid4()))  # redelivered: still once each

    alerts = await eventually(
        lambda: messages(notify, event_id=str(event.id)), lambda m: len(m) >= 2 and settled(m)
    )
    assert sorted(m["recipient_id"] for m in alerts) == sorted([str(leader), str(secretary)])
    assert {m["template"] for m in alerts} == {"spotcheck_absent_alert"}
    assert all("2026-12-03" in m["body"] for m in alerts)


async def test_an_escalated_talk_finds_the_unit_and_branch_secretary_in_the_roster(
    notify, notify_db, nats_url
):
    """A talk's event names the cadre and the contact leader only; the roster events notify
    kept say who the branch secretary is and which unit sent the cadre."""
    cadre = await add_contact(notify_db, "李队员")
    secretary = await add_contact(notify_db, "赵支书", phone="13800004444", roles=())
    unit = await add_contact(
        notify_db,
        "县教育局",
        phone="13800005555",
        kind="unit",
        unit_code="JY",
        roles=(),
        region_code="511529000000",
    )
    route = await notify.post(
        ALERT_ROUTES,
        json=route_body(
            event_type="attendance.talk.escalated",
            recipients=["branch_secretary", "dispatching_unit"],
            template_code="talk_escalated_alert",
        ),
    )
    assert route.status_code == 201, route.text
    assigned = RosterChanged(
        member_id=uuid4(),
        cadre_id=cadre,
        region_code=VILLAGE,
        role="member",
        unit_name="县教育局",
        unit_code="JY",
        term_start=date(2026, 3, 1),
        term_end=None,
        contact_leader_id=None,
        branch_secretary_id=secretary,
        change="assigned",
    )
    await publish(nats_url, make_event(assigned, source="/tests", subject=cadre))
    await eventually(lambda: count_rows(notify_db, "roster_entry", "cadre_id = $1", cadre), bool)
    talk = TalkEscalated(
        talk_id=uuid4(),
        cadre_id=cadre,
        region_code=VILLAGE,
        township_code="511529100000",
        talked_on=date(2026, 12, 1),
        held_by=uuid4(),
        unsolved_problems=("住房漏雨",),
        note="需乡镇协调",
        escalated_by=uuid4(),
    )
    event = make_event(talk, source="/tests", subject=talk.talk_id, region_code=VILLAGE)
    await publish(nats_url, event)

    alerts = await eventually(
        lambda: messages(notify, event_id=str(event.id), template="talk_escalated_alert"),
        lambda m: len(m) >= 2 and settled(m),
    )
    assert sorted(m["recipient_id"] for m in alerts) == sorted([str(secretary), str(unit)])
    assert all("住房漏雨" in m["body"] for m in alerts)
