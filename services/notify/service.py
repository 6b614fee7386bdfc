"""Notify's domain logic: plain functions that take a session and never commit."""

from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.common.auth import Caller, scoped
from services.common.contracts.attendance import CheckinRecorded
from services.common.db import driver
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate
from services.notify.models import Message
from services.notify.providers.console import ConsoleProvider

PROVIDER = ConsoleProvider()
COUNTY_TZ = ZoneInfo("Asia/Shanghai")
_KIND = {"checkin": "签到", "checkout": "签退"}


_INSERT_MESSAGE = (
    "INSERT INTO message (id, event_id, recipient_id, region_code, channel, template, body, "
    "status, created_at, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)


async def send(session: AsyncSession, message: Message) -> Message:
    """Hand the message to its channel and record the outcome (on asyncpg: one per event)."""
    await PROVIDER.send(message)
    message.status = "sent"
    message.sent_at = datetime.now(UTC)
    connection = await driver(session)
    await connection.execute(
        _INSERT_MESSAGE,
        message.id,
        message.event_id,
        message.recipient_id,
        message.region_code,
        message.channel,
        message.template,
        message.body,
        message.status,
        message.created_at,
        message.sent_at,
    )
    return message


async def acknowledge_checkin(
    session: AsyncSession, checkin: CheckinRecorded, *, event_id: UUID
) -> Message:
    """签到回执: tell the cadre their check-in was recorded."""
    local = checkin.client_time.astimezone(COUNTY_TZ)
    message = Message(
        id=new_id(),
        event_id=event_id,
        recipient_id=checkin.cadre_id,
        region_code=checkin.region_code,
        channel=PROVIDER.channel,
        template="checkin_receipt",
        body=f"您于 {local:%Y-%m-%d %H:%M} 在 {checkin.region_code} "
        f"的{_KIND[checkin.kind]}已记录。",
        status="pending",
        created_at=datetime.now(UTC),
    )
    return await send(session, message)


async def list_messages(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    recipient_id: UUID | None = None,
    event_id: UUID | None = None,
) -> tuple[list[Message], str | None]:
    statement = scoped(select(Message), Message.region_code, caller)
    if recipient_id is not None:
        statement = statement.where(Message.recipient_id == recipient_id)
    if event_id is not None:
        statement = statement.where(Message.event_id == event_id)
    return await paginate(
        session,
        statement,
        page,
        id_column=Message.id,  # type: ignore[arg-type]
        sortable={"created_at": Message.created_at},  # type: ignore[dict-item]
        default_sort="-created_at",
    )
