"""审计: an append-only log of who did what, when, from where, through which route, to which record.

Entries are written in the transaction of the act they record, so an act and its entry stand
or fall together. Who (the caller's user id), from where (the client address) and which route
come from the request context unless given. The services' database role may only read and
insert entries (services/common/migrate.py: it owns no table, so it cannot disable the triggers
either); the table refuses UPDATE and TRUNCATE for every role, and DELETE of any entry younger
than 180 days (kernel_0003's triggers). The daily `audit.prune` job deletes what is older than
`audit_keep_days` through `audit_entry_prune`, which runs as the owner (kernel_0004). County
admins read the log within their region through `GET /api/v1/<service>/audit-entries`; no
route changes it.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.common import context
from services.common.auth import Caller, require, scoped
from services.common.db import Session, driver
from services.common.ids import new_id
from services.common.jobs import Job, Period
from services.common.models import AuditEntry
from services.common.pagination import Page, PageParams, page_params, paginate
from services.common.permissions import Permission

# Each column and its type (the type for the parameters of a statement that folds an entry in).
_COLUMN_TYPES = {
    "id": "uuid",
    "at": "timestamptz",
    "action": "text",
    "actor": "text",
    "user_id": "uuid",
    "source": "text",
    "request_id": "text",
    "route": "text",
    "target": "text",
    "region_code": "text",
    "detail": "jsonb",
}
_COLUMNS = ", ".join(_COLUMN_TYPES)
_INSERT = (
    f"INSERT INTO audit_entry ({_COLUMNS}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(_COLUMN_TYPES) + 1))})"
)
_PRUNE = text("SELECT audit_entry_prune(:days)")


def values(
    *,
    action: str,
    actor: str | None = None,
    user_id: UUID | str | None = None,
    source: str | None = None,
    target: UUID | str | None = None,
    region_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """One entry's values in column order; who and from where default to the request's."""
    return (
        new_id(),
        datetime.now(UTC),
        action,
        actor,
        context.user_id.get() if user_id is None else user_id,
        context.client.get() if source is None else source,
        context.request_id.get(),
        context.route.get(),
        None if target is None else str(target),
        region_code,
        None if detail is None else orjson.dumps(detail).decode(),
    )


def insert_from(relation: str, *, first: int) -> str:
    """An INSERT of one entry for each row of `relation` (a CTE), its values the parameters
    $first... (`values(...)`): an act's entry folded into the act's own statement, one round
    trip, written only if the act wrote its row."""
    params = ", ".join(f"${first + i}::{kind}" for i, kind in enumerate(_COLUMN_TYPES.values()))
    return f"INSERT INTO audit_entry ({_COLUMNS}) SELECT {params} FROM {relation}"


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
    """Write one entry in the session's transaction. Give `region_code` where the act has one:
    an entry without a region is not seen by the county admins' (scoped) query."""
    connection = await driver(session)
    await connection.execute(
        _INSERT,
        *values(
            action=action,
            actor=actor,
            user_id=user_id,
            source=source,
            target=target,
            region_code=region_code,
            detail=detail,
        ),
    )


async def record_each(
    session: AsyncSession,
    *,
    action: str,
    targets: Sequence[tuple[UUID | str | None, str | None]],
    user_id: UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One entry per (target, region_code), alike in all else, sent in one batch: a list whose
    clear values were read writes all its entries at once."""
    if not targets:
        return
    connection = await driver(session)
    await connection.executemany(
        _INSERT,
        [
            values(action=action, user_id=user_id, target=target, region_code=region, detail=detail)
            for target, region in targets
        ],
    )


def prune_job(keep_days: int) -> Job:
    """The daily job that deletes entries older than `keep_days` (at least 180: settings)."""

    async def prune(session: AsyncSession, period: Period) -> dict[str, Any]:
        deleted = (await session.execute(_PRUNE, {"days": keep_days})).scalar_one()
        return {"deleted": deleted, "keep_days": keep_days}

    return Job(name="audit.prune", period="day", run=prune)


class AuditEntryPublic(BaseModel):
    id: UUID
    at: datetime
    action: str
    actor: str | None
    user_id: UUID | None
    source: str | None
    request_id: str | None
    route: str | None
    target: str | None
    region_code: str | None
    detail: dict[str, Any] | None


# Read only: the log has no route that writes, changes or deletes an entry.
router = APIRouter(tags=["audit"])


@router.get("/audit-entries", summary="审计日志 / Audit entries within the caller's region")
async def list_audit_entries(
    session: Session,
    page: Annotated[PageParams, Depends(page_params)],
    action: str | None = None,
    user_id: UUID | None = None,
    target: str | None = None,
    since: Annotated[AwareDatetime | None, Query(description="自此时刻起（含）")] = None,
    until: Annotated[AwareDatetime | None, Query(description="至此时刻止（不含）")] = None,
    caller: Caller = require(Permission.AUDIT_READ),
) -> Page[AuditEntryPublic]:
    statement = scoped(select(AuditEntry), AuditEntry.region_code, caller)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    if user_id is not None:
        statement = statement.where(AuditEntry.user_id == user_id)
    if target is not None:
        statement = statement.where(AuditEntry.target == target)
    if since is not None:
        statement = statement.where(AuditEntry.at >= since)
    if until is not None:
        statement = statement.where(AuditEntry.at < until)
    rows, cursor = await paginate(
        session,
        statement,
        page,
        id_column=AuditEntry.id,  # type: ignore[arg-type]
        sortable={"at": AuditEntry.at},  # type: ignore[dict-item]
        default_sort="-at",
    )
    return Page(
        items=[AuditEntryPublic.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=cursor,
    )
