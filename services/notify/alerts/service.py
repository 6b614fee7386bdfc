"""Alerts' domain logic: an event's alerts queued by the routes that name its type, and the
routes themselves (预警路由), which the county admins change. Plain functions that take a
session and never commit."""

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import any_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.common import audit
from services.common.auth import Caller
from services.common.errors import Invalid, NotFound
from services.common.events import Event
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate
from services.common.regions import code_of_prefix
from services.notify.alerts.book import RouteBook
from services.notify.alerts.models import AlertRoute
from services.notify.alerts.parties import SUBJECTS, Subject, subjects_of
from services.notify.alerts.schemas import AlertRouteSet
from services.notify.contacts.models import Contact, RosterEntry
from services.notify.delivery.service import message_key, queue, templates_for, where_given
from services.notify.templates.service import lock_code


async def _contacts(
    session: AsyncSession, route: AlertRoute, subject: Subject
) -> dict[UUID, Contact | None]:
    """The people the route names among the subject's parties: by id (cadre, contact leader,
    branch secretary; None where notify has not heard of them), the dispatching unit's
    contacts, the township's officers."""
    ids = {subject.people[r] for r in route.recipients if subject.people.get(r) is not None}
    clauses = []
    if ids:
        clauses.append(Contact.id.in_(ids))  # type: ignore[attr-defined]
    if "dispatching_unit" in route.recipients:
        # by the unit's code; by its name where the roster gave the unit no code
        unit = subject.values.get("unit_name")
        same = Contact.unit_code == subject.unit_code if subject.unit_code else Contact.name == unit
        if subject.unit_code or unit:
            # the unit of the cadre's county: another county's may share its name or code
            county = Contact.region_code.startswith(subject.region_code[:6])  # type: ignore[attr-defined]
            clauses.append((Contact.kind == "unit") & same & county)
    if "township" in route.recipients and subject.township_code:
        clauses.append(
            (Contact.kind == "user")
            & (Contact.region_code == subject.township_code)
            & (any_(Contact.roles) == "township_officer")  # type: ignore[arg-type]
        )
    if not clauses:
        return {}
    found = (await session.execute(select(Contact).where(or_(*clauses)))).scalars().all()
    people: dict[UUID, Contact | None] = {person_id: None for person_id in ids}
    people.update({c.id: c for c in found if c.active})
    return people


def _lacks(route: AlertRoute, subject: Subject) -> bool:
    """Whether the route names someone an event that does not say who answers for the
    cadre left out: a branch secretary, a unit it gave neither code nor name of."""
    if subject.answered:
        return False
    named = [r for r in route.recipients if r in ("contact_leader", "branch_secretary")]
    no_unit = not (subject.unit_code or subject.values.get("unit_name"))
    return any(subject.people.get(r) is None for r in named) or (
        "dispatching_unit" in route.recipients and no_unit
    )


async def completed(session: AsyncSession, subject: Subject) -> Subject:
    """The subject with what the event did not say filled in from the roster read model
    (attendance's roster events): who answers for the cadre, the unit that sent them (an
    escalated talk names neither)."""
    term = (
        await session.execute(
            select(RosterEntry)
            .where(
                RosterEntry.cadre_id == subject.cadre_id,
                RosterEntry.region_code == subject.region_code,  # the term in that village
                RosterEntry.ended.is_(False),  # type: ignore[attr-defined]
            )
            .order_by(RosterEntry.term_start.desc())  # type: ignore[attr-defined]
            .limit(1)
        )
    ).scalar()
    if term is None:
        return subject
    known = {
        "contact_leader": term.contact_leader_id,
        "branch_secretary": term.branch_secretary_id,
    }
    return replace(
        subject,
        people={**known, **{k: v for k, v in subject.people.items() if v is not None}},
        unit_code=subject.unit_code or term.unit_code,
        values={**subject.values, "unit_name": subject.values.get("unit_name") or term.unit_name},
    )


async def alert(
    session: AsyncSession,
    event: Event,
    *,
    timezone: ZoneInfo,
    providers: Mapping[str, str],
    book: RouteBook,
) -> int:
    """Queue the alerts `event` calls for, one per route, subject and person; how many.
    The keys name the event, route, subject and person: a redelivered event queues none."""
    routes = await book.routes(session, event.type)
    if not routes:
        return 0
    queued = 0
    subjects = subjects_of(event, timezone)
    for route, templates in routes:
        for position, subject in enumerate(subjects):
            if _lacks(route, subject):
                subjects[position] = subject = await completed(session, subject)
            people = await _contacts(session, route, subject)
            cadre = (
                people[subject.cadre_id]
                if subject.cadre_id in people
                else await session.get(Contact, subject.cadre_id)
            )
            for person_id, contact in people.items():
                values = {
                    **subject.values,
                    "recipient_name": contact.name if contact else "",
                    "cadre_name": cadre.name if cadre else "",
                }
                queued += await queue(
                    session,
                    key=message_key("event", event.id, route.id, position, person_id),
                    contact=contact,
                    recipient_id=person_id,
                    channels=route.channels,
                    templates=templates,
                    values=values,
                    priority="alert",
                    region_code=subject.region_code,
                    providers=providers,
                    event_id=event.id,
                    route_id=route.id,
                )
    return queued


async def list_routes(
    session: AsyncSession,
    page: PageParams,
    *,
    event_type: str | None = None,
    enabled: bool | None = None,
) -> tuple[list[AlertRoute], str | None]:
    statement = where_given(
        select(AlertRoute), (AlertRoute.event_type, event_type), (AlertRoute.enabled, enabled)
    )
    return await paginate(
        session,
        statement,
        page,
        id_column=AlertRoute.id,  # type: ignore[arg-type]
        sortable={"event_type": AlertRoute.event_type},  # type: ignore[dict-item]
        default_sort="event_type",
    )


async def get_route(session: AsyncSession, route_id: UUID) -> AlertRoute:
    route = await session.get(AlertRoute, route_id)
    if route is None:
        raise NotFound("预警路由不存在", code="alert_route_not_found")
    return route


async def _check_route(session: AsyncSession, data: AlertRouteSet) -> None:
    """An event notify knows how to alert about, and a template of that purpose for at least
    one of the route's channels (held while the route is saved: lock_code)."""
    if data.event_type not in SUBJECTS:
        known = ", ".join(sorted(SUBJECTS))
        raise Invalid(
            f"未知的事件类型 {data.event_type}，可选：{known}",
            code="unknown_event_type",
            errors=[{"field": "event_type", "message": f"one of: {known}"}],
        )
    await lock_code(session, data.template_code)
    templates = await templates_for(session, data.template_code)
    usable = [templates[c] for c in data.channels if c in templates]
    if not usable:
        raise Invalid(
            f"模板 {data.template_code} 在渠道 {', '.join(data.channels)} 上都没有模板",
            code="template_missing",
            errors=[{"field": "template_code", "message": "no template for any of the channels"}],
        )
    wrong = sorted({t.purpose for t in usable} - {data.event_type})
    if wrong:
        raise Invalid(
            f"模板 {data.template_code} 的用途是 {', '.join(wrong)}，不是 {data.event_type}",
            code="template_purpose_mismatch",
            errors=[{"field": "template_code", "message": f"a template for {wrong[0]}"}],
        )


def _kept(route: AlertRoute) -> dict[str, Any]:
    """What an audit entry keeps of a route."""
    return route.model_dump(mode="json", include=set(AlertRouteSet.model_fields))


async def _audit(
    session: AsyncSession, action: str, route: AlertRoute, caller: Caller, **detail: Any
) -> None:
    await audit.record(
        session,
        action=f"notify.alert_route.{action}",
        user_id=caller.user_id,
        target=route.id,
        region_code=code_of_prefix(caller.scope),
        detail=detail,
    )


async def create_route(session: AsyncSession, data: AlertRouteSet, caller: Caller) -> AlertRoute:
    await _check_route(session, data)
    now = datetime.now(UTC)
    route = AlertRoute(
        id=new_id(), **data.model_dump(), updated_by=caller.user_id, created_at=now, updated_at=now
    )
    session.add(route)
    await session.flush()
    await _audit(session, "created", route, caller, after=_kept(route))
    RouteBook.changed(session)
    return route


async def replace_route(
    session: AsyncSession, route_id: UUID, data: AlertRouteSet, caller: Caller
) -> AlertRoute:
    route = await get_route(session, route_id)
    await _check_route(session, data)
    before = _kept(route)
    route.sqlmodel_update(
        {**data.model_dump(), "updated_by": caller.user_id, "updated_at": datetime.now(UTC)}
    )
    await session.flush()
    await _audit(session, "updated", route, caller, before=before, after=_kept(route))
    RouteBook.changed(session)
    return route


async def delete_route(session: AsyncSession, route_id: UUID, caller: Caller) -> None:
    route = await get_route(session, route_id)
    await session.delete(route)
    await session.flush()
    await _audit(session, "deleted", route, caller, before=_kept(route))
    RouteBook.changed(session)
