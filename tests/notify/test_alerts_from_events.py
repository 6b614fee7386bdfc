"""The seeded alert routes from real events through NATS, beyond absences: a month below the
minimum to the township's officers (of the cadre's township only), a spot check's "not found"
to each absent cadre's contact leader or branch secretary, once each."""

from datetime import UTC, date, datetime
from uuid import uuid4

from services.common.contracts.attendance import (
    MonthlyMinimumMissed,
    SpotCheckAbsentee,
    SpotCheckRecorded,
)
from services.common.events import make_event
from services.common.testing import eventually
from tests.common.events import publish
from tests.notify.factories import VILLAGE, add_contact, messages, settled


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
