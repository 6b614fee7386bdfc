"""Queueing a message: the channel chosen, the text rendered, the key that keeps it single.

A message is only recorded here, in the caller's transaction (an event's handler, a request);
the dispatcher sends it after the commit, so a rolled-back handler never sent anything.
"""

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Any
from uuid import UUID

import orjson
from jinja2 import TemplateError
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.common import audit
from services.common.auth import Caller, check_writable, scoped
from services.common.db import driver, lock
from services.common.errors import Invalid, NotFound
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate
from services.common.permissions import Permission
from services.notify import events
from services.notify.contacts.models import Contact, OptOut
from services.notify.delivery.models import Message, QuietHours
from services.notify.delivery.schemas import QuietHoursPublic, QuietHoursSet
from services.notify.festivals.service import check_readable, county_code_of
from services.notify.templates.models import Template
from services.notify.templates.render import render, sms_parts, sms_text

# The channels that need an address of the contact's; the console needs none.
_ADDRESSED = {
    "sms": lambda c: c.phone_encrypted,
    "wechat": lambda c: c.wechat_openid,
    "wecom": lambda c: c.wecom_key_encrypted,
}


_INSERT = """
INSERT INTO message (id, idempotency_key, event_id, campaign_id, route_id, recipient_id,
    region_code, priority, channel, provider, template, body, params, provider_template_code,
    sign_name, parts, address_masked, fallback, status, error_code, error_detail, not_before,
    created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15, $16, $17, $18,
    $19, $20, $21, now(), now(), now())
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id, event_id, recipient_id, region_code, channel, provider, template, status,
    error_code, error_detail
"""


def message_key(*parts: object) -> UUID:
    """The idempotency key of what the parts name (an event, a route, a person): the same
    parts always give the same key, in Python as in SQL (`md5(...)::uuid`)."""
    return UUID(hashlib.md5("|".join(map(str, parts)).encode()).hexdigest())


def reachable(contact: Contact | None, channels: Sequence[str]) -> list[str]:
    """The channels that `contact` has an address for (the console needs none), in the
    order the contact chose, if they chose one, then the given order."""
    usable = [
        channel
        for channel in channels
        if channel == "console"
        or (
            contact is not None
            and channel in _ADDRESSED
            and _ADDRESSED[channel](contact) is not None
        )
    ]
    preferred = list(contact.channels) if contact is not None and contact.channels_chosen else []
    return sorted(usable, key=lambda ch: preferred.index(ch) if ch in preferred else len(preferred))


def masked_address(contact: Contact | Any, channel: str) -> str | None:
    """How the address shows (a contact, or its row as the dispatcher reads it)."""
    if contact is None or channel == "console":
        return None
    field = contact.__getattribute__ if isinstance(contact, Contact) else contact.__getitem__
    if channel == "sms":
        return field("phone_masked")
    if channel == "wechat" and field("wechat_openid"):
        return f"{field('wechat_openid')[:4]}****"
    return f"{field('name')} 群机器人"


def wording(template: Template, values: Mapping[str, Any]) -> tuple[str, int, str | None]:
    """The text of `template` with `values`, its parts (SMS), and why it cannot go, if not."""
    try:
        body = render(template.body, dict(values))
    except TemplateError as exc:  # a variable the values lack: the template changed since
        return "", 0, f"template_render_failed: {exc}"
    if template.channel != "sms":
        return body, 1, None
    parts = sms_parts(sms_text(body, template.sign_name))
    if parts > template.max_parts:
        return body, parts, f"sms_too_long: {parts} parts, the template allows {template.max_parts}"
    return body, parts, None


async def templates_for(session: AsyncSession, code: str) -> dict[str, Template]:
    rows = await session.execute(select(Template).where(Template.code == code))
    return {t.channel: t for t in rows.scalars()}


async def opted_out(session: AsyncSession, contact: Contact | None) -> bool:
    if contact is None or contact.phone_hash is None:
        return False
    return await session.get(OptOut, contact.phone_hash) is not None


async def queue(
    session: AsyncSession,
    *,
    key: UUID,
    contact: Contact | None,
    recipient_id: UUID,
    channels: Sequence[str],
    templates: Mapping[str, Template],
    values: Mapping[str, Any],
    priority: str,
    region_code: str | None,
    providers: Mapping[str, str],
    event_id: UUID | None = None,
    route_id: UUID | None = None,
    campaign_id: UUID | None = None,
) -> bool:
    """Record one message to one person, unless one with `key` exists (False then).

    The first channel of `channels` that the person can be reached by and that has a template
    is the one; the others stay as fallbacks. Where none can, the message is recorded as
    failed (`no_address`), so an alert nobody could receive is seen, not lost. A greeting to a
    phone that unsubscribed (退订) is recorded as opted out."""
    usable = [c for c in reachable(contact, channels) if c in templates and c in providers]
    status, error, channel = "queued", None, usable[0] if usable else channels[0]
    template = templates.get(channel)
    body, parts = "", 0
    if not usable:
        status, error = "failed", "no_address: 无可用的联系方式或模板 (no channel reaches them)"
    elif priority == "greeting" and await opted_out(session, contact):  # any channel
        status, error = "opted_out", "opted_out: 已退订"
    if template is not None:
        body, parts, why_not = wording(template, values)
        if why_not and status == "queued":
            status, error = "failed", why_not
    connection = await driver(session)  # on asyncpg: every alert and receipt passes here
    row = await connection.fetchrow(
        _INSERT,
        new_id(),
        key,
        event_id,
        campaign_id,
        route_id,
        recipient_id,
        region_code,
        priority,
        channel,
        providers.get(channel, "none"),
        template.code if template else "",
        body,
        orjson.dumps({k: str(v) for k, v in values.items()}).decode(),
        template.provider_template_code if template else None,
        template.sign_name if template else None,
        parts,
        masked_address(contact, channel),
        usable[1:],
        status,
        error.split(":", 1)[0] if error else None,
        error,
    )
    if row is not None and status == "failed":
        await events.message_outcome(session, row)  # an alert nobody can receive is news
    return row is not None


def where_given(statement: Select[Any], *filters: tuple[Any, Any]) -> Select[Any]:
    """`statement` with each (column, value) filter whose value is given (a list's query
    parameters: None is "any")."""
    for column, value in filters:
        if value is not None:
            statement = statement.where(column == value)
    return statement


def _readable(caller: Caller) -> Any:
    """The messages a caller may read: within their region; a cadre (who keeps no contacts)
    only their own, not the alerts about colleagues or the villagers' greetings."""
    statement = scoped(select(Message), Message.region_code, caller)
    if Permission.CONTACT_READ not in caller.permissions:
        statement = statement.where(Message.recipient_id == caller.user_id)
    return statement


async def list_messages(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    *,
    recipient_id: UUID | None = None,
    event_id: UUID | None = None,
    campaign_id: UUID | None = None,
    status: str | None = None,
    template: str | None = None,
) -> tuple[list[Message], str | None]:
    statement = where_given(
        _readable(caller),
        (Message.recipient_id, recipient_id),
        (Message.event_id, event_id),
        (Message.campaign_id, campaign_id),
        (Message.status, status),
        (Message.template, template),
    )
    return await paginate(
        session,
        statement,
        page,
        id_column=Message.id,  # type: ignore[arg-type]
        sortable={"created_at": Message.created_at},  # type: ignore[dict-item]
        default_sort="-created_at",
    )


async def get_message(session: AsyncSession, message_id: UUID, caller: Caller) -> Message:
    statement = _readable(caller).where(Message.id == message_id)
    message = (await session.execute(statement)).scalar()
    if message is None:
        raise NotFound("消息不存在", code="message_not_found")
    return message


# --- 免打扰: a county's quiet hours, which the dispatcher reads when it claims greetings ------


async def quiet_hours_of(
    session: AsyncSession, county: str, default: tuple[time, time]
) -> QuietHoursPublic:
    stored = await session.get(QuietHours, county)
    if stored is None:
        starts, ends = default
        return QuietHoursPublic(county_code=county, starts=starts, ends=ends, default=True)
    return QuietHoursPublic(**stored.model_dump(), default=False)


async def get_quiet_hours(
    session: AsyncSession, code: str, caller: Caller, default: tuple[time, time]
) -> QuietHoursPublic:
    """A county's quiet hours, for anyone whose region lies in it or covers it."""
    county = county_code_of(code)
    check_readable(caller, county)
    return await quiet_hours_of(session, county, default)


def _hours(hours: QuietHoursPublic) -> dict[str, str]:
    """What an audit entry keeps of quiet hours."""
    return hours.model_dump(mode="json", include={"starts", "ends", "default"})


async def _writable(session: AsyncSession, code: str, caller: Caller) -> str:
    """The county, when the caller's scope covers all of it (not a township's officer)."""
    county = county_code_of(code)
    check_writable(caller, f"{county}000000")
    await lock(session, f"quiet_hours:{county}")
    return county


async def set_quiet_hours(
    session: AsyncSession,
    code: str,
    data: QuietHoursSet,
    caller: Caller,
    default: tuple[time, time],
) -> QuietHoursPublic:
    """Set a county's quiet hours; audited with what they were before."""
    if data.starts == data.ends:
        raise Invalid(
            "免打扰的开始与结束不能相同",
            code="quiet_hours_empty",
            errors=[{"field": "ends", "message": "must differ from starts"}],
        )
    county = await _writable(session, code, caller)
    before = await quiet_hours_of(session, county, default)
    await session.merge(
        QuietHours(
            county_code=county,
            **data.model_dump(),
            updated_by=caller.user_id,
            updated_at=datetime.now(UTC),
        )
    )
    await session.flush()
    after = await quiet_hours_of(session, county, default)
    await audit.record(
        session,
        action="notify.quiet_hours.set",
        user_id=caller.user_id,
        target=county,
        region_code=f"{county}000000",
        detail={"before": _hours(before), "after": _hours(after)},
    )
    return after


async def delete_quiet_hours(
    session: AsyncSession, code: str, caller: Caller, default: tuple[time, time]
) -> None:
    """A county's quiet hours back to the default; audited when it had its own."""
    county = await _writable(session, code, caller)
    stored = await session.get(QuietHours, county)
    if stored is None:
        return
    before = await quiet_hours_of(session, county, default)
    await session.delete(stored)
    await session.flush()
    await audit.record(
        session,
        action="notify.quiet_hours.deleted",
        user_id=caller.user_id,
        target=county,
        region_code=f"{county}000000",
        detail={"before": _hours(before)},
    )
