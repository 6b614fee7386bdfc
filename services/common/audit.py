"""审计: an append-only log of who did what, from where, to which record.

Entries are written in the transaction of the act they record, so an act and its entry stand
or fall together. The table refuses UPDATE and DELETE (a trigger), for every database role.
"""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import context
from services.common.db import driver
from services.common.ids import new_id

_INSERT = (
    "INSERT INTO audit_entry (id, at, action, actor, user_id, source, request_id, target, "
    "region_code, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)


async def record(
    session: AsyncSession,
    *,
    action: str,
    actor: str | None = None,
    user_id: UUID | None = None,
    source: str | None = None,
    target: UUID | str | None = None,
    region_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    connection = await driver(session)
    await connection.execute(
        _INSERT,
        new_id(),
        datetime.now(UTC),
        action,
        actor,
        user_id,
        source,
        context.request_id.get(),
        None if target is None else str(target),
        region_code,
        None if detail is None else orjson.dumps(detail).decode(),
    )
