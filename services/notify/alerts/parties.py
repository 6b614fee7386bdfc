"""Who an event is about and who answers for them (its parties), and the values its alert
templates may use (templates/render.py VARIABLES): one function per event type."""

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID
from zoneinfo import ZoneInfo

from services.common.contracts.attendance import (
    AbsenceDetected,
    CheckinRecorded,
    MonthlyMinimumMissed,
    Responsible,
    SpotCheckRecorded,
    TalkEscalated,
    YearlyMinimumMissed,
)
from services.common.events import Event
from services.common.regions import township_of

# Who a route may name among an event's parties.
RECIPIENTS = ("cadre", "contact_leader", "branch_secretary", "dispatching_unit", "township")


@dataclass(frozen=True)
class Subject:
    """One cadre an event is about: the people who answer for them, and the alert's values
    (`recipient_name` and `cadre_name` are filled in per recipient)."""

    cadre_id: UUID
    region_code: str
    values: dict[str, str]
    people: dict[str, UUID | None] = field(default_factory=dict)  # cadre, contact_leader, ...
    unit_code: str | None = None  # the dispatching unit (派出单位)
    township_code: str | None = None
    # False: the event does not say who answers for the cadre nor the unit (an escalated
    # talk); the roster read model tells them (alerts/service.py `completed`).
    answered: bool = True


def _responsible(data: Responsible, cadre_id: UUID, region_code: str, **values: object) -> Subject:
    return Subject(
        cadre_id=cadre_id,
        region_code=region_code,
        values={"village": region_code, "unit_name": data.unit_name}
        | {k: str(v) for k, v in values.items()},
        people={
            "cadre": cadre_id,
            "contact_leader": data.contact_leader_id,
            "branch_secretary": data.branch_secretary_id,
        },
        unit_code=data.unit_code,
        township_code=township_of(region_code),
    )


def _checkin(event: Event, tz: ZoneInfo) -> list[Subject]:
    checkin = CheckinRecorded.from_event(event)
    local = checkin.client_time.astimezone(tz)
    return [
        Subject(
            cadre_id=checkin.cadre_id,
            region_code=checkin.region_code,
            values={
                "time": f"{local:%Y-%m-%d %H:%M}",
                "village": checkin.region_code,
                "kind": {"checkin": "签到", "checkout": "签退"}[checkin.kind],
            },
            people={"cadre": checkin.cadre_id},
        )
    ]


def _absence(event: Event, _: ZoneInfo) -> list[Subject]:
    a = AbsenceDetected.from_event(event)
    return [
        _responsible(
            a, a.cadre_id, a.region_code, first_day=a.first_day, last_day=a.last_day, days=a.days
        )
    ]


def _monthly(event: Event, _: ZoneInfo) -> list[Subject]:
    m = MonthlyMinimumMissed.from_event(event)
    return [
        _responsible(
            m, m.cadre_id, m.region_code, month=m.month, counted=m.counted, required=m.required
        )
    ]


def _yearly(event: Event, _: ZoneInfo) -> list[Subject]:
    y = YearlyMinimumMissed.from_event(event)
    return [
        _responsible(
            y, y.cadre_id, y.region_code, year=y.year, counted=y.counted, required=y.required
        )
    ]


def _spot_check(event: Event, _: ZoneInfo) -> list[Subject]:
    """One subject per cadre not found without approval (明察暗访未见到人)."""
    check = SpotCheckRecorded.from_event(event)
    return [
        Subject(
            cadre_id=a.cadre_id,
            region_code=check.region_code,
            values={
                "village": check.region_code,
                "unit_name": a.unit_name,
                "visit_day": str(check.visit_day),
                "note": a.note or "",
            },
            people={
                "cadre": a.cadre_id,
                "contact_leader": a.contact_leader_id,
                "branch_secretary": a.branch_secretary_id,
            },
            unit_code=a.unit_code,
            township_code=township_of(check.region_code),
        )
        for a in check.absent
    ]


def _talk(event: Event, _: ZoneInfo) -> list[Subject]:
    talk = TalkEscalated.from_event(event)
    return [
        Subject(
            cadre_id=talk.cadre_id,
            region_code=talk.region_code,
            values={
                "village": talk.region_code,
                "unit_name": "",
                "talked_on": str(talk.talked_on),
                "problems": "；".join(talk.unsolved_problems),
            },
            people={"cadre": talk.cadre_id, "contact_leader": talk.held_by},
            township_code=talk.township_code,
            answered=False,
        )
    ]


SUBJECTS: dict[str, Callable[[Event, ZoneInfo], list[Subject]]] = {
    CheckinRecorded.type: _checkin,
    AbsenceDetected.type: _absence,
    MonthlyMinimumMissed.type: _monthly,
    YearlyMinimumMissed.type: _yearly,
    SpotCheckRecorded.type: _spot_check,
    TalkEscalated.type: _talk,
}


def subjects_of(event: Event, tz: ZoneInfo) -> list[Subject]:
    return SUBJECTS[event.type](event, tz)
