"""Alerts' domain logic: an event's alerts queued by the routes that name its type."""

from collections.abc import Mapping
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.common.events import Event
from services.notify.alerts.models import AlertRoute
from services.notify.alerts.parties import Subject, subjects_of
from services.notify.contacts.models import Contact
from services.notify.delivery.service import message_key, queue, templates_for


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
            clauses.append((Contact.kind == "unit") & same)
    if "township" in route.recipients and subject.township_code:
        clauses.append(
            (Contact.kind == "user")
            & (Contact.region_code == subject.township_code)
            & Contact.roles.any("township_officer")  # type: ignore[attr-defined]
        )
    if not clauses:
        return {}
    found = (await session.execute(select(Contact).where(or_(*clauses)))).scalars().all()
    people: dict[UUID, Contact | None] = {person_id: None for person_id in ids}
    people.update({c.id: c for c in found if c.active})
    return people


async def alert(
    session: AsyncSession, event: Event, *, timezone: ZoneInfo, providers: Mapping[str, str]
) -> int:
    """Queue the alerts `event` calls for, one per route, subject and person; how many.
    The keys name the event, route, subject and person: a redelivered event queues none."""
    routes = (
        (
            await session.execute(
                select(AlertRoute).where(AlertRoute.event_type == event.type, AlertRoute.enabled)
            )
        )
        .scalars()
        .all()
    )
    if not routes:
        return 0
    queued = 0
    subjects = subjects_of(event, timezone)
    for route in routes:
        templates = await templates_for(session, route.template_code)
        for position, subject in enumerate(subjects):
            people = await _contacts(session, route, subject)
            cadre = people.get(subject.cadre_id) or await session.get(Contact, subject.cadre_id)
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
