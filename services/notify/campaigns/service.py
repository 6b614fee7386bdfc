"""Greeting campaigns (节日问候): created for a festival or a date, previewed, planned once at
their time, paused, resumed, cancelled, completed. Plain functions that take a session and
never commit.

A campaign reaches up to a million people, so nothing here loads its audience into Python:
the preview is one aggregate query and the planning one `INSERT ... SELECT` (see `plan`).
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson
from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.common import audit
from services.common.auth import Caller, check_writable, one_scoped, scoped
from services.common.contracts.notify import MessageCounts
from services.common.db import driver, lock
from services.common.errors import Conflict, Invalid, NotFound
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate
from services.common.regions import region_prefix
from services.notify import events
from services.notify.campaigns.models import Campaign
from services.notify.campaigns.schemas import (
    CampaignCreate,
    CampaignPreview,
)
from services.notify.contacts.models import ContactList
from services.notify.delivery.service import templates_for, wording
from services.notify.festivals.service import find_festival
from services.notify.templates.models import Template
from services.notify.templates.render import GREETING, render

# The greeting's variables that differ from one recipient to the next; the others (festival,
# day, county, sender) are the campaign's own and filled in once.
PER_RECIPIENT = {"name": "c.name", "village": "c.region_code"}
# What a preview renders an SMS with: a name of the usual length.
SAMPLE = {"name": "张晓明", "village": "511529100201"}
_MARK = "\x01"  # a control character: in no template's text and no person's name

# Whether a contact can be reached by a channel (as delivery.service.reachable says).
_ADDRESSED = {
    "sms": "c.phone_encrypted IS NOT NULL",
    "wechat": "c.wechat_openid IS NOT NULL",
    "wecom": "c.wecom_key_encrypted IS NOT NULL",
}
# The audience: $1 roles, $2 the region's prefix pattern, $3 list ids.
_AUDIENCE = """
    c.active AND (
        (c.kind = 'user' AND c.roles && $1::varchar[] AND c.region_code LIKE $2)
        OR c.list_id = ANY($3::uuid[]))
"""
# Who a message is for: the phone, so one phone in two lists is greeted once; else the contact.
_WHO = "coalesce(c.phone_hash, c.id::text)"

log = logging.getLogger(__name__)


def _usable(channels: Sequence[str]) -> str:
    """SQL: the channels that the contact `c` has an address for, in the order the contact
    chose (if they chose one), then the campaign's."""
    if not channels:
        return "'{}'::text[]"
    cases = ", ".join(f"CASE WHEN {_ADDRESSED[ch]} THEN '{ch}' END" for ch in channels)
    return (
        f"ARRAY(SELECT u.ch FROM unnest(array_remove(ARRAY[{cases}]::text[], NULL))"
        " WITH ORDINALITY AS u(ch, n)"
        " ORDER BY CASE WHEN c.channels_chosen"
        " THEN coalesce(array_position(c.channels, u.ch), 1000) END, u.n)"
    )


def _audience_args(campaign: Campaign) -> tuple[list[str], str, list[UUID]]:
    return (
        list(campaign.audience_roles),
        f"{region_prefix(campaign.region_code)}%",
        list(campaign.audience_list_ids),
    )


def _marker(variable: str) -> str:
    return f"{_MARK}{variable}{_MARK}"


def _fill(pattern: str, values: Mapping[str, str]) -> str:
    """What SQL's replace() makes of a pattern: each marker replaced by its value."""
    for variable, value in values.items():
        pattern = pattern.replace(_marker(variable), value)
    return pattern


def body_pattern(template: Template, constants: Mapping[str, str]) -> str | None:
    """The template rendered once with the campaign's values and a marker for each
    recipient's, for SQL to fill in (Jinja2 cannot run in SQL); None when that would not give
    what rendering per recipient gives (a template that computes on a name: `{{ name[0] }}`)."""
    try:
        pattern = render(template.body, {**constants, **{v: _marker(v) for v in PER_RECIPIENT}})
        sample = render(template.body, {**constants, **SAMPLE})
    except TemplateError:
        return None
    return pattern if _fill(pattern, SAMPLE) == sample else None


async def greeting_values(
    session: AsyncSession, campaign: Campaign, timezone: ZoneInfo
) -> dict[str, str]:
    """The campaign's own variables: festival (its name, or the campaign's for a date), day,
    county and sender. Notify keeps no region names: county and village are division codes,
    as the alerts' `village` is."""
    day = campaign.festival_day or campaign.send_at.astimezone(timezone).date()
    festival = campaign.name
    if campaign.festival_code is not None:
        found = await find_festival(
            session, campaign.region_code[:6], campaign.festival_code, day.year
        )
        festival = found.name
    return {
        "festival": festival,
        "day": f"{day.month}月{day.day}日",
        "county": campaign.region_code[:6],
        "sender": campaign.sender,
    }


async def greeting_templates(
    session: AsyncSession, code: str, channels: Sequence[str]
) -> dict[str, Template]:
    """The greeting templates `code` has for the channels."""
    found = await templates_for(session, code)
    return {ch: t for ch, t in found.items() if ch in channels and t.purpose == GREETING}


# -- creating ----------------------------------------------------------------------------------


async def _send_day(session: AsyncSession, data: CampaignCreate) -> date:
    if data.festival is None:
        assert data.send_on is not None  # the schema holds exactly one
        return data.send_on
    try:
        found = await find_festival(
            session, data.region_code[:6], data.festival.code, data.festival.year
        )
    except NotFound as exc:
        raise Invalid(
            exc.detail,
            code="festival_not_found",
            errors=[{"field": "festival.code", "message": "unknown festival for this county"}],
        ) from None
    return found.day


async def _check_lists(session: AsyncSession, data: CampaignCreate) -> None:
    """Each list exists and lies within the campaign's region (so within the caller's)."""
    if not data.audience.list_ids:
        return
    prefix = region_prefix(data.region_code)
    rows = await session.execute(
        select(ContactList.id).where(
            ContactList.id.in_(data.audience.list_ids),  # type: ignore[attr-defined]
            ContactList.region_code.startswith(prefix, autoescape=True),  # type: ignore[attr-defined]
        )
    )
    missing = set(data.audience.list_ids) - set(rows.scalars())
    if missing:
        raise Invalid(
            "名单不存在或不在发送范围内",
            code="campaign_list_not_found",
            errors=[{"field": "audience.list_ids", "message": str(i)} for i in sorted(missing)],
        )


async def _check_templates(
    session: AsyncSession, data: CampaignCreate, constants: Mapping[str, str]
) -> None:
    templates = await greeting_templates(session, data.template_code, data.channels)
    if not templates:
        raise Invalid(
            "所选渠道没有该问候模板 (no greeting template for these channels)",
            code="campaign_template_unusable",
            errors=[{"field": "template_code", "message": "no greeting template by this code"}],
        )
    unfit = sorted(ch for ch, t in templates.items() if body_pattern(t, constants) is None)
    if unfit:
        raise Invalid(
            "模板对变量做了运算，无法批量发送 (the template computes on a recipient's values)",
            code="campaign_template_unusable",
            errors=[{"field": "template_code", "message": f"channel {ch}"} for ch in unfit],
        )


def _asked(campaign: Campaign) -> tuple[Any, ...]:
    """What a stored campaign was asked for, to compare a retry's request with."""
    return (
        campaign.name,
        campaign.region_code,
        campaign.template_code,
        list(campaign.channels),
        sorted(campaign.audience_roles),
        sorted(map(str, campaign.audience_list_ids)),
        campaign.festival_code,
    )


def _asking(data: CampaignCreate) -> tuple[Any, ...]:
    return (
        data.name,
        data.region_code,
        data.template_code,
        list(data.channels),
        sorted(str(r) for r in data.audience.roles),
        sorted(map(str, data.audience.list_ids)),
        data.festival.code if data.festival else None,
    )


async def create_campaign(
    session: AsyncSession,
    data: CampaignCreate,
    caller: Caller,
    timezone: ZoneInfo,
    *,
    request_key: str | None = None,
) -> tuple[Campaign, bool]:
    """Schedule a campaign at its festival's day (or date) and time in the county's time zone;
    True if it was created. Refused, storing nothing: outside the caller's scope (403), in
    the past, with a template that is not a greeting on its channels, an unknown list, an
    audience of nobody (422). A retry with the caller's `request_key` (the Idempotency-Key
    header) gets the campaign it created, not a second one greeting everyone again."""
    check_writable(caller, data.region_code)
    if request_key is not None:
        await lock(session, f"campaign-request:{caller.user_id}:{request_key}")
        earlier = await session.execute(
            select(Campaign).where(
                Campaign.created_by == caller.user_id, Campaign.request_key == request_key
            )
        )
        if (campaign := earlier.scalar()) is not None:
            if _asked(campaign) != _asking(data):
                raise Invalid(
                    "该 Idempotency-Key 已用于另一个活动 (the key was used for another campaign)",
                    code="idempotency_key_reused",
                )
            return campaign, False
    day = await _send_day(session, data)
    send_at = datetime.combine(day, data.send_time, tzinfo=timezone)
    now = datetime.now(UTC)
    if send_at <= now:
        raise Invalid(
            f"发送时间 {send_at.isoformat()} 已过",
            code="campaign_in_past",
            errors=[{"field": "festival" if data.festival else "send_on", "message": "past"}],
        )
    campaign = Campaign(
        id=new_id(),
        name=data.name,
        region_code=data.region_code,
        festival_code=data.festival.code if data.festival else None,
        festival_day=day if data.festival else None,
        send_at=send_at,
        template_code=data.template_code,
        channels=list(data.channels),
        audience_roles=[str(r) for r in data.audience.roles],
        audience_list_ids=list(data.audience.list_ids),
        sender=data.sender,
        status="scheduled",
        created_by=caller.user_id,
        request_key=request_key,
        created_at=now,
        updated_at=now,
    )
    await _check_templates(session, data, await greeting_values(session, campaign, timezone))
    await _check_lists(session, data)
    connection = await driver(session)
    anyone = await connection.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM contact c WHERE {_AUDIENCE})", *_audience_args(campaign)
    )
    if not anyone:
        raise Invalid(
            "受众中没有任何联系人 (the audience is empty)",
            code="campaign_audience_empty",
            errors=[{"field": "audience", "message": "no active contact matches"}],
        )
    session.add(campaign)
    await session.flush()
    await audit.record(
        session,
        action="notify.campaign.created",
        user_id=caller.user_id,
        target=campaign.id,
        region_code=campaign.region_code,
        detail={"name": campaign.name, "send_at": send_at.isoformat()},
    )
    return campaign, True


# -- reading -----------------------------------------------------------------------------------


async def list_campaigns(
    session: AsyncSession, page: PageParams, caller: Caller, *, status: str | None = None
) -> tuple[list[Campaign], str | None]:
    statement = scoped(select(Campaign), Campaign.region_code, caller)
    if status is not None:
        statement = statement.where(Campaign.status == status)
    return await paginate(
        session,
        statement,
        page,
        id_column=Campaign.id,  # type: ignore[arg-type]
        sortable={"send_at": Campaign.send_at, "created_at": Campaign.created_at},  # type: ignore[dict-item]
        default_sort="-created_at",
    )


async def get_campaign(
    session: AsyncSession, campaign_id: UUID, caller: Caller, *, for_update: bool = False
) -> Campaign:
    return await one_scoped(
        session,
        Campaign,
        campaign_id,
        caller,
        NotFound("问候活动不存在", code="campaign_not_found"),
        for_update=for_update,
    )


async def progress(session: AsyncSession, campaign_id: UUID) -> MessageCounts:
    """Its messages by status: one GROUP BY over ix_message_campaign_id_status."""
    connection = await driver(session)
    rows = await connection.fetch(
        "SELECT status, count(*) AS n FROM message WHERE campaign_id = $1 GROUP BY status",
        campaign_id,
    )
    return MessageCounts(**{row["status"]: row["n"] for row in rows})


_PREVIEW = """
WITH audience AS (
    SELECT {who} AS who, ({usable})[1] AS channel, o.phone_hash IS NOT NULL AS opted
    FROM contact c LEFT JOIN opt_out o ON o.phone_hash = c.phone_hash
    WHERE {audience}
), one AS (
    SELECT who, count(*) AS n, (array_agg(channel))[1] AS channel, bool_or(opted) AS opted
    FROM audience GROUP BY who
)
SELECT channel, opted, count(*) AS recipients, sum(n)::int AS contacts FROM one GROUP BY 1, 2
"""


async def preview(
    session: AsyncSession, campaign: Campaign, *, timezone: ZoneInfo, sms_price: Decimal
) -> CampaignPreview:
    """What the campaign would send now, counted in SQL: recipients by the channel each would
    get (the first they can be reached by that has a template, in the order they chose or
    the campaign's), the unreachable, the opted out (a phone that unsubscribed, whatever the
    channel), the duplicates (the
    same phone reached twice, greeted once), an SMS's parts rendered with a sample name, and
    what the SMS cost."""
    constants = await greeting_values(session, campaign, timezone)
    templates = await greeting_templates(session, campaign.template_code, campaign.channels)
    usable = [ch for ch in campaign.channels if ch in templates]
    connection = await driver(session)
    rows = await connection.fetch(
        _PREVIEW.format(who=_WHO, usable=_usable(usable), audience=_AUDIENCE),
        *_audience_args(campaign),
    )
    by_channel = dict.fromkeys(usable, 0)
    unreachable = opted_out = recipients = contacts = 0
    for row in rows:
        recipients += row["recipients"]
        contacts += row["contacts"]
        if row["channel"] is None:
            unreachable += row["recipients"]
        elif row["opted"]:  # 退订: no greeting by any channel
            opted_out += row["recipients"]
        else:
            by_channel[row["channel"]] += row["recipients"]
    parts = 0
    if "sms" in templates:
        _, parts, _ = wording(templates["sms"], {**constants, **SAMPLE})
    cost = (sms_price * parts * by_channel.get("sms", 0)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return CampaignPreview(
        contacts=contacts,
        recipients=recipients,
        duplicates=contacts - recipients,
        by_channel=by_channel,
        unreachable=unreachable,
        opted_out=opted_out,
        sms_parts=parts,
        cost=cost,
    )


# -- planning and finishing (the dispatcher's housekeeping) -------------------------------------

_CLAIM = """
UPDATE campaign SET status = 'sending', planned_at = now(), updated_at = now()
WHERE id IN (
    SELECT id FROM campaign WHERE status = 'scheduled' AND send_at <= now()
    ORDER BY send_at LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id
"""
# $1-$3 the audience; $4 the campaign; $5 its template code; $6 its first channel; $7 the
# campaign's own variables (jsonb); $8 not_before; $9-$14 the templates by channel.
# OFFSET 0 keeps each step a step: without it PostgreSQL folds the steps into one and computes
# a channel or a body again wherever a later step names it (bench/notify.py: the SELECT of a
# million rows took 15.9 s before, 11.1 s after, under EXPLAIN ANALYZE).
_PLAN = """
WITH chosen AS (
    SELECT c.id, c.name, c.region_code, c.phone_hash, c.phone_masked, c.wechat_openid,
           {usable} AS usable
    FROM contact c
    WHERE {audience}
    OFFSET 0
), worded AS (
    SELECT c.*, t.provider, t.provider_template_code, t.sign_name, t.max_parts,
           coalesce(c.usable[1], $6) AS channel, o.phone_hash IS NOT NULL AS opted,
           t.pattern IS NOT NULL AS templated, {body} AS body
    FROM chosen c
    LEFT JOIN opt_out o ON o.phone_hash = c.phone_hash
    LEFT JOIN unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                     $14::int[]) AS t(channel, pattern, provider, provider_template_code,
                                      sign_name, max_parts)
        ON t.channel = coalesce(c.usable[1], $6)
    OFFSET 0
), counted AS (
    SELECT w.*,
        CASE WHEN NOT w.templated THEN 0 WHEN w.channel <> 'sms' OR l.chars <= 70 THEN 1
             ELSE ceil(l.chars / 67.0)::int END AS parts
    FROM worded w
    CROSS JOIN LATERAL (
        SELECT char_length(w.body) + coalesce(char_length(w.sign_name) + 2, 0) AS chars) l
    OFFSET 0
), judged AS (
    SELECT c.*, CASE
        WHEN c.usable = '{{}}' THEN 'no_address'
        WHEN c.opted THEN 'opted_out'
        WHEN c.channel = 'sms' AND c.parts > c.max_parts THEN 'sms_too_long' END AS error
    FROM counted c
)
INSERT INTO message (
    id, idempotency_key, campaign_id, recipient_id, region_code, priority, channel, provider,
    template, body, params, provider_template_code, sign_name, parts, address_masked, fallback,
    status, attempts, not_before, error_code, error_detail, created_at, updated_at)
SELECT uuidv7(), md5('campaign|' || $4::uuid::text || '|' || {who})::uuid, $4::uuid, c.id,
    c.region_code, 'greeting', c.channel, coalesce(c.provider, 'none'),
    CASE WHEN c.templated THEN $5 ELSE '' END,
    c.body, jsonb_build_object({params}) || $7::jsonb, c.provider_template_code, c.sign_name,
    c.parts,
    CASE c.channel WHEN 'sms' THEN c.phone_masked
        WHEN 'wechat' THEN left(c.wechat_openid, 4) || '****'
        WHEN 'wecom' THEN c.name || ' 群机器人' END,
    c.usable[2:],
    CASE WHEN c.error IS NULL THEN 'queued' WHEN c.error = 'opted_out' THEN 'opted_out'
        ELSE 'failed' END,
    0, $8, c.error,
    CASE c.error
        WHEN 'no_address' THEN 'no_address: 无可用的联系方式或模板 (no channel reaches them)'
        WHEN 'opted_out' THEN 'opted_out: 已退订'
        WHEN 'sms_too_long' THEN 'sms_too_long: ' || c.parts || ' parts, the template allows '
            || c.max_parts END,
    now(), now()
FROM judged c
ON CONFLICT (idempotency_key) DO NOTHING
"""


@dataclass(frozen=True)
class _Wording:
    """The campaign's templates as the planning statement takes them: one array per column."""

    channels: list[str]
    patterns: list[str]
    providers: list[str]
    provider_template_codes: list[str | None]
    sign_names: list[str | None]
    max_parts: list[int]


def _wording(
    templates: Mapping[str, Template], constants: Mapping[str, str], providers: Mapping[str, str]
) -> _Wording:
    usable = {
        ch: (t, pattern)
        for ch, t in templates.items()
        if ch in providers and (pattern := body_pattern(t, constants)) is not None
    }
    return _Wording(
        channels=list(usable),
        patterns=[p for _, p in usable.values()],
        providers=[providers[ch] for ch in usable],
        provider_template_codes=[t.provider_template_code for t, _ in usable.values()],
        sign_names=[t.sign_name for t, _ in usable.values()],
        max_parts=[t.max_parts for t, _ in usable.values()],
    )


def _body_sql() -> str:
    body = "t.pattern"
    for variable, column in PER_RECIPIENT.items():
        marker = _marker(variable).encode("unicode_escape").decode()  # \x01name\x01
        body = f"replace({body}, E'{marker}', {column})"
    return f"coalesce({body}, '')"


async def planning(
    session: AsyncSession,
    campaign: Campaign,
    *,
    providers: Mapping[str, str],
    timezone: ZoneInfo,
) -> tuple[str, list[Any]]:
    """The statement that plans the campaign, and its arguments (`plan` runs it; a bench
    explains it)."""
    constants = await greeting_values(session, campaign, timezone)
    templates = await greeting_templates(session, campaign.template_code, campaign.channels)
    wording_ = _wording(templates, constants, providers)
    usable = [ch for ch in campaign.channels if ch in wording_.channels]
    params = ", ".join(f"'{v}', {column}" for v, column in PER_RECIPIENT.items())
    statement = _PLAN.format(
        usable=_usable(usable),
        audience=_AUDIENCE,
        body=_body_sql(),
        who=_WHO,
        params=params,
    )
    return statement, [
        *_audience_args(campaign),
        campaign.id,
        campaign.template_code,
        campaign.channels[0],
        orjson.dumps(constants).decode(),
        campaign.send_at,
        wording_.channels,
        wording_.patterns,
        wording_.providers,
        wording_.provider_template_codes,
        wording_.sign_names,
        wording_.max_parts,
    ]


async def plan(
    session: AsyncSession,
    campaign: Campaign,
    *,
    providers: Mapping[str, str],
    timezone: ZoneInfo,
) -> int:
    """Queue the campaign's messages, one per recipient, in ONE `INSERT ... SELECT`; how many.

    The body is built in SQL: each channel's template is rendered once in Python with the
    campaign's values and a marker per recipient's value (name, village), and SQL replaces
    the markers (`body_pattern`; a template whose result that would not reproduce is left
    out, as a missing one is). So the message leaves with its `body` and `params` as the
    dispatcher expects of every message, and a fallback renders from `params` as ever.
    The key is the campaign and the phone (else the contact): one phone in two lists is
    greeted once, and planning again queues nothing. As `delivery.service.queue` decides:
    the first channel the contact can be reached by and that has a template (in the order
    they chose, else the campaign's), the others after it as fallbacks; nobody reachable →
    failed `no_address`; a phone that unsubscribed (退订) → `opted_out`; too long → failed.
    The ids are PostgreSQL's uuidv7(): time-ordered as the application's, made where the
    rows are."""
    statement, args = await planning(session, campaign, providers=providers, timezone=timezone)
    status = await (await driver(session)).execute(statement, *args)
    return int(status.rsplit(" ", 1)[1])  # "INSERT 0 <rows>"


async def start_due(
    session: AsyncSession,
    *,
    providers: Mapping[str, str],
    timezone: ZoneInfo,
    limit: int = 1,
) -> int:
    """开始发送: claim the campaigns whose time has come and plan each, in this transaction;
    how many. `FOR UPDATE SKIP LOCKED`: two replicas never claim one campaign, and a claimed
    one is 'sending' once this commits, so it is planned once. One campaign a transaction by
    default: a million messages are enough for one commit; the next tick takes the next."""
    connection = await driver(session)
    claimed = [row["id"] for row in await connection.fetch(_CLAIM, limit)]
    for campaign_id in claimed:
        campaign = await session.get(Campaign, campaign_id)
        assert campaign is not None
        try:
            async with session.begin_nested():
                planned = await plan(session, campaign, providers=providers, timezone=timezone)
        except Exception as exc:
            # Not retried every tick (holding back the campaigns due after it): paused, so a
            # county sees it and resumes it once what it needs is back; said in the audit.
            log.exception("campaign %s could not be planned; paused", campaign_id)
            await session.refresh(campaign)  # as it was before the planning rolled back
            await _hold(session, campaign, repr(exc))
            continue
        campaign.planned = planned
    await session.flush()
    return len(claimed)


async def _hold(session: AsyncSession, campaign: Campaign, why: str) -> None:
    campaign.status = "paused"  # planned_at stays null: resuming schedules it again
    campaign.planned_at = None
    await _act(session, campaign, "paused", "sending", {"because": why[:500]})


_FINISH = """
UPDATE campaign c SET status = 'completed', completed_at = now(), updated_at = now()
WHERE c.status = 'sending' AND NOT EXISTS (
    SELECT 1 FROM message m WHERE m.campaign_id = c.id AND m.status IN ('queued', 'sending'))
RETURNING c.id, c.region_code, c.planned
"""


async def finish_done(session: AsyncSession) -> int:
    """完成: campaigns sending with nothing left queued or in flight are completed (each an
    index probe on ix_message_campaign_id_status); their event published. How many."""
    connection = await driver(session)
    done = await connection.fetch(_FINISH)
    for row in done:
        await events.campaign_completed(session, row, await progress(session, row["id"]))
    return len(done)


# -- pausing, resuming, cancelling -------------------------------------------------------------


async def _act(
    session: AsyncSession,
    campaign: Campaign,
    action: str,
    before: str,
    detail: dict[str, Any] | None = None,
) -> Campaign:
    campaign.updated_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        action=f"notify.campaign.{action}",
        target=campaign.id,
        region_code=campaign.region_code,
        detail={"before": before, "after": campaign.status, **(detail or {})},
    )
    return campaign


async def pause(session: AsyncSession, campaign_id: UUID, caller: Caller) -> Campaign:
    """暂停: a scheduled or sending campaign stops; its queued messages wait (the dispatcher
    sends a campaign's messages only while it is sending)."""
    campaign = await get_campaign(session, campaign_id, caller, for_update=True)
    if campaign.status not in ("scheduled", "sending"):
        raise Conflict(f"活动当前为 {campaign.status}，不能暂停", code="campaign_not_active")
    before, campaign.status = campaign.status, "paused"
    return await _act(session, campaign, "paused", before)


async def resume(session: AsyncSession, campaign_id: UUID, caller: Caller) -> Campaign:
    """继续: a paused campaign sends again if it had been planned, else waits for its time."""
    campaign = await get_campaign(session, campaign_id, caller, for_update=True)
    if campaign.status != "paused":
        raise Conflict(f"活动当前为 {campaign.status}，未暂停", code="campaign_not_paused")
    campaign.status = "sending" if campaign.planned_at is not None else "scheduled"
    return await _act(session, campaign, "resumed", "paused")


async def cancel(session: AsyncSession, campaign_id: UUID, caller: Caller) -> Campaign:
    """取消: what is still queued is never sent (those in flight finish)."""
    campaign = await get_campaign(session, campaign_id, caller, for_update=True)
    if campaign.status not in ("scheduled", "paused", "sending"):
        raise Conflict(f"活动当前为 {campaign.status}，不能取消", code="campaign_not_cancellable")
    before, campaign.status = campaign.status, "cancelled"
    connection = await driver(session)
    status = await connection.execute(
        "UPDATE message SET status = 'cancelled', updated_at = now() "
        "WHERE campaign_id = $1 AND status = 'queued'",
        campaign.id,
    )
    cancelled = int(status.rsplit(" ", 1)[1])
    return await _act(session, campaign, "cancelled", before, {"messages_cancelled": cancelled})
