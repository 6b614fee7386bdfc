"""审计: an append-only log of who did what, from where, to which record.

Entries are written in the transaction of the act they record, so an act and its entry stand
or fall together. The table refuses UPDATE and DELETE (a trigger), for every database role.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import context
from services.common.db import driver
from services.common.ids import new_id

# One statement for any number of entries (one per target): a list whose clear values were read
# writes all its entries at once.
_INSERT = (
    "INSERT INTO audit_entry (id, at, action, actor, user_id, source, request_id, target, "
    "region_code, detail) SELECT id, $4, $5, $6, $7, $8, $9, target, region_code, $10 "
    "FROM unnest($1::uuid[], $2::text[], $3::text[]) AS entry (id, target, region_code)"
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
    await record_each(
        session,
        action=action,
        actor=actor,
        user_id=user_id,
        source=source,
        targets=[(target, region_code)],
        detail=detail,
    )


async def record_each(
    session: AsyncSession,
    *,
    action: str,
    targets: Sequence[tuple[UUID | str | None, str | None]],
    actor: str | None = None,
    user_id: UUID | None = None,
    source: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One entry per (target, region_code), alike in all else, written in one statement."""
    if not targets:
        return
    connection = await driver(session)
    await connection.execute(
        _INSERT,
        [new_id() for _ in targets],
        [None if target is None else str(target) for target, _ in targets],
        [region_code for _, region_code in targets],
        datetime.now(UTC),
        action,
        actor,
        user_id,
        source,
        context.request_id.get(),
        None if detail is None else orjson.dumps(detail).decode(),
    )
