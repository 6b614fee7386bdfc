"""The routes an event type alerts by, kept in memory for a moment."""

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.notify.alerts.models import AlertRoute
from services.notify.delivery.service import templates_for
from services.notify.templates.models import Template


class RouteBook:
    """The enabled routes of each event type and their templates, as last read: every event
    (each check-in's receipt) needs them, and they change seldom. Read again after `ttl`
    seconds, and at once after a write in this process (`RouteBook.changed(session)`, called
    by the route and template writes, counts the write as it is made and again as it
    commits); another replica's write shows within `ttl`. What is kept is detached from the
    session that read it, so a handler that rolls back leaves it whole."""

    changes = 0  # the writes in this process, counted

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._read: dict[str, tuple[float, int, list[tuple[AlertRoute, dict[str, Template]]]]] = {}

    @classmethod
    def changed(cls, session: AsyncSession) -> None:
        cls.changes += 1  # a read from now on is not kept as the latest ...
        event.listen(session.sync_session, "after_commit", cls._count, once=True)  # ... nor
        # one made before the commit made the write visible

    @classmethod
    def _count(cls, _: Any) -> None:
        cls.changes += 1

    async def routes(
        self, session: AsyncSession, event_type: str
    ) -> list[tuple[AlertRoute, dict[str, Template]]]:
        now = time.monotonic()
        kept = self._read.get(event_type)
        if kept is not None and now - kept[0] < self.ttl and kept[1] == RouteBook.changes:
            return kept[2]
        changes = RouteBook.changes
        found = await session.execute(
            select(AlertRoute).where(AlertRoute.event_type == event_type, AlertRoute.enabled)
        )
        routes = [(r, await templates_for(session, r.template_code)) for r in found.scalars()]
        for route, templates in routes:
            for record in (route, *templates.values()):
                if record in session:  # two routes may share a template
                    session.expunge(record)
        self._read[event_type] = (now, changes, routes)
        return routes
