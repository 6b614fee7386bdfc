"""The dispatcher (发送器): sends what is queued, after the commit that queued it.

One loop per provider claims due messages (`FOR UPDATE SKIP LOCKED`: replicas share the work,
never a message), sends them within the provider's rate, and records each outcome:
- sent: the provider took it; a receipt may follow (delivery/callbacks.py);
- temporary (rate limited, provider down): queued again after a backoff, up to `max_attempts`;
- permanent (invalid number, template not approved, balance exhausted): the next fallback
  channel, if the message has one, else failed.
Greetings are not claimed in their county's quiet hours (免打扰: default 21:00-08:00), nor while
their campaign is paused, nor sent to a phone that unsubscribed (退订) since they were queued.
A message claimed by a process that died (`lease_until` passed): an alert is sent again (a
second alert beats none); a greeting is failed as `outcome_unknown` (the provider may have
sent it, and a greeting twice is worse than once missed). A long batch renews its lease.

The rate (`rate_per_second` in the provider's settings) is kept by all replicas together
(`Pace`, a row per provider in the database).
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import Database, driver
from services.common.regions import region_prefix
from services.common.sensitive import DecryptionFailed, SensitiveData
from services.notify import events
from services.notify.delivery.service import masked_address, templates_for, wording
from services.notify.providers.base import Outcome, Outgoing, Provider
from services.notify.templates.render import provider_params

log = logging.getLogger(__name__)

Claimed = dict[str, Any]  # a claimed message row
OPTED_OUT = "opted_out"
Housekeeping = Callable[[AsyncSession], Awaitable[Any]]

# Due messages for one provider, locked so that replicas never claim one twice: alerts in
# the order they became due; a campaign's greetings (the campaigns sending, outside their
# county's quiet hours: chosen first, so no row is read only to be passed over).
_CLAIM = """
WITH due AS (
    SELECT id FROM message
    WHERE status = 'queued' AND provider = $1 AND not_before <= now() AND {which}
    {order}
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE message m
SET status = 'sending', attempts = m.attempts + 1, updated_at = now(),
    lease_until = now() + make_interval(secs => $3)
FROM due WHERE m.id = due.id
RETURNING m.id, m.recipient_id, m.channel, m.provider, m.template, m.body, m.params,
          m.provider_template_code, m.sign_name, m.attempts, m.fallback, m.priority,
          m.region_code, m.event_id
"""
_CLAIM_ALERTS = _CLAIM.format(which="priority = 'alert'", order="ORDER BY not_before")
_CLAIM_GREETINGS = _CLAIM.format(
    which="priority = 'greeting' AND campaign_id = ANY($4::uuid[])", order=""
)
# A campaign wider than a county (a city's): each message's county decides. Open is the
# default's openness unless the county's own hours differ from it ($5: those counties).
_CLAIM_WIDE_GREETINGS = _CLAIM.format(
    which="priority = 'greeting' AND campaign_id = ANY($4::uuid[])"
    " AND (left(region_code, 6) = ANY($5::text[])) <> $6",
    order="",
)
_SENDING_CAMPAIGNS = "SELECT id, region_code FROM campaign WHERE status = 'sending'"
_QUIET_HOURS = "SELECT county_code, starts, ends FROM quiet_hours"
_EXTEND = """
UPDATE message SET lease_until = now() + make_interval(secs => $2)
WHERE id = ANY($1::uuid[]) AND status = 'sending'
"""
_OPTED_OUT = """
UPDATE message SET status = 'opted_out', updated_at = now(), lease_until = NULL,
    error_code = 'opted_out', error_detail = 'opted_out: 已退订'
WHERE id = $1 AND status = 'sending'
"""
_CONTACTS = (
    "SELECT c.id, c.name, c.phone_encrypted, c.phone_masked, c.wechat_openid,"
    " c.wecom_key_encrypted, o.phone_hash IS NOT NULL AS opted_out"
    " FROM contact c LEFT JOIN opt_out o ON o.phone_hash = c.phone_hash"
    " WHERE c.id = ANY($1::uuid[])"
)
_TEMPLATES = (
    "SELECT code, channel, variables, provider_params, provider_template_code, sign_name"
    " FROM template WHERE code = ANY($1::text[])"
)
_SENT = """
UPDATE message m SET status = 'sent', provider_message_id = s.provider_message_id,
    sent_at = now(), updated_at = now(), lease_until = NULL, error_code = NULL,
    error_detail = NULL
FROM unnest($1::uuid[], $2::text[]) AS s(id, provider_message_id)
WHERE m.id = s.id AND m.status = 'sending'
RETURNING m.id, m.event_id, m.recipient_id, m.region_code, m.channel, m.provider, m.template,
          m.status
"""
_RETRY = """
UPDATE message SET status = 'queued', not_before = now() + make_interval(secs => $2),
    updated_at = now(), lease_until = NULL, error_code = $3, error_detail = $4
WHERE id = $1 AND status = 'sending'
"""
_FALL_BACK = """
UPDATE message SET status = 'queued', channel = $2, provider = $3, template = $4, body = $5,
    parts = $6, provider_template_code = $7, sign_name = $8, address_masked = $9,
    fallback = $10, attempts = 0, not_before = now(), updated_at = now(), lease_until = NULL,
    error_code = $11, error_detail = $12
WHERE id = $1 AND status = 'sending'
"""
_FAILED = """
UPDATE message SET status = 'failed', updated_at = now(), lease_until = NULL,
    error_code = $2, error_detail = $3
WHERE id = $1 AND status = 'sending'
RETURNING id, event_id, recipient_id, region_code, channel, provider, template, status,
          error_code, error_detail
"""
_ABANDONED = """
UPDATE message SET lease_until = NULL, updated_at = now(),
    status = CASE WHEN priority = 'alert' THEN 'queued' ELSE 'failed' END,
    error_code = CASE WHEN priority = 'alert' THEN error_code ELSE 'outcome_unknown' END,
    error_detail = CASE WHEN priority = 'alert' THEN error_detail
        ELSE 'outcome_unknown: 发送中断，无法确认是否已发出 (the sender stopped mid-send)' END
WHERE status = 'sending' AND lease_until < now()
"""


class Pace:
    """A provider's rate, kept by every replica together: `take(n)` books n messages' worth
    of the provider's time in the database (one row per provider, `provider_pace`) and waits
    until the booked slot begins. Replicas book in turn on the row, so together they keep to
    `per_second`, however many run."""

    _BOOK = """
    INSERT INTO provider_pace (provider, next_at) VALUES ($1, now() + make_interval(secs => $2))
    ON CONFLICT (provider) DO UPDATE
        SET next_at = greatest(provider_pace.next_at, now()) + make_interval(secs => $2)
    RETURNING extract(epoch FROM next_at - now())::float8 - $2 AS wait
    """

    def __init__(self, db: Database, provider: str, per_second: float) -> None:
        self.db = db
        self.provider = provider
        self.interval = 1.0 / per_second

    async def take(self, n: int) -> None:
        async with self.db.transaction() as session:
            wait = await (await driver(session)).fetchval(
                self._BOOK, self.provider, n * self.interval
            )
        if wait > 0:
            await asyncio.sleep(wait)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        vault: SensitiveData,
        providers: Mapping[str, Provider],
        *,
        timezone: str,
        quiet_starts: clock_time,
        quiet_ends: clock_time,
        max_attempts: int = 5,
        backoff: Sequence[float] = (5.0, 30.0, 120.0, 600.0),
        lease_seconds: float = 120.0,
        poll_seconds: float = 1.0,
        housekeeping: Sequence[Housekeeping] = (),
    ) -> None:
        self.db = db
        self.vault = vault
        self.providers = dict(providers)  # channel -> its provider
        self.zone = ZoneInfo(timezone)
        self.quiet = (quiet_starts, quiet_ends)
        self.max_attempts = max_attempts
        self.backoff = list(backoff)
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.housekeeping = list(housekeeping)
        self.paces = {p.name: Pace(db, p.name, p.rate_per_second) for p in self.providers.values()}
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._loop(self._keep_house), name="notify-housekeeping"),
            *(
                asyncio.create_task(self._loop(lambda p=p: self.dispatch(p)), name=f"send-{p.name}")
                for p in {p.name: p for p in self.providers.values()}.values()
            ),
        ]

    async def stop(self) -> None:
        """Finish the batches in flight (their outcomes recorded), then stop."""
        self._stopping.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.lease_seconds / 2)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for provider in self.providers.values():
            await provider.close()

    async def _loop(self, step: Callable[[], Awaitable[int]]) -> None:
        while not self._stopping.is_set():
            try:
                done = await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notify dispatcher step failed")
                done = 0
            if not done:
                try:
                    await asyncio.wait_for(self._stopping.wait(), self.poll_seconds)
                except TimeoutError:
                    pass

    async def _keep_house(self) -> int:
        """Abandoned sends released; campaigns started and finished (their own functions)."""
        async with self.db.transaction() as session:
            connection = await driver(session)
            await connection.execute(_ABANDONED)
        for chore in self.housekeeping:
            async with self.db.transaction() as session:
                await chore(session)
        return 0

    def _quiet(self, starts: clock_time, ends: clock_time) -> bool:
        """Whether the county's quiet hours (免打扰) hold now, in the county's time."""
        now = datetime.now(self.zone).time()
        return starts <= now < ends if starts < ends else (now >= starts or now < ends)

    async def _claim(self, connection: asyncpg.Connection, provider: Provider) -> list[Claimed]:
        """Alerts first; greetings when no alert is due, of the campaigns sending: those
        within one county if it is not in its quiet hours (decided here, so no row is read
        only to be passed over), those wider row by row by each message's county."""
        args = (provider.name, provider.max_batch, self.lease_seconds)
        rows = await connection.fetch(_CLAIM_ALERTS, *args)
        campaigns = [] if rows else await connection.fetch(_SENDING_CAMPAIGNS)
        if campaigns:
            own = {
                r["county_code"]: (r["starts"], r["ends"])
                for r in await connection.fetch(_QUIET_HOURS)
            }
            default_open = not self._quiet(*self.quiet)

            def open_in(county: str) -> bool:
                return not self._quiet(*own[county]) if county in own else default_open

            within = [c for c in campaigns if len(region_prefix(c["region_code"])) >= 6]
            wide = [c["id"] for c in campaigns if len(region_prefix(c["region_code"])) < 6]
            open_now = [c["id"] for c in within if open_in(c["region_code"][:6])]
            if open_now:
                rows = await connection.fetch(_CLAIM_GREETINGS, *args, open_now)
            if not rows and wide:
                differing = [county for county in own if open_in(county) != default_open]
                rows = await connection.fetch(
                    _CLAIM_WIDE_GREETINGS, *args, wide, differing, default_open
                )
        return [dict(row) for row in rows]

    async def dispatch(self, provider: Provider) -> int:
        """Claim one batch for `provider`, send it, record what became of each; how many."""
        async with self.db.transaction() as session:
            connection = await driver(session)
            claimed = await self._claim(connection, provider)
            contacts = {
                row["id"]: row
                for row in await connection.fetch(
                    _CONTACTS, list({m["recipient_id"] for m in claimed})
                )
            }
            templates = {
                (row["code"], row["channel"]): row
                for row in await connection.fetch(
                    _TEMPLATES, list({m["template"] for m in claimed})
                )
            }
        if not claimed:
            return 0
        leased = time.monotonic()
        groups: dict[tuple[Any, ...], list[tuple[Claimed, Outgoing | Outcome]]] = {}
        for message in claimed:
            template = templates.get((message["template"], message["channel"]))
            out = self._outgoing(message, contacts.get(message["recipient_id"]), template)
            group = (message["template"], message["provider_template_code"], message["sign_name"])
            if getattr(provider, "one_params_per_call", False) and isinstance(out, Outgoing):
                group += tuple(out.params.values())  # Tencent: one TemplateParamSet a call
            groups.setdefault(group, []).append((message, out))
        remaining = {m["id"] for m in claimed}
        for batch in groups.values():
            if time.monotonic() - leased > self.lease_seconds / 3:  # a long batch keeps its
                await self._extend(list(remaining))  # claim: no other process takes it over
                leased = time.monotonic()
            ready = [(m, out) for m, out in batch if isinstance(out, Outgoing)]
            # what cannot go: opted out, the person's address gone, the template no longer fits
            outcomes = {m["id"]: out for m, out in batch if isinstance(out, Outcome)}
            if ready:
                await self.paces[provider.name].take(len(ready))
                sent = await provider.send([out for _, out in ready])
                outcomes.update({m["id"]: o for (m, _), o in zip(ready, sent, strict=True)})
            await self._record([(m, outcomes[m["id"]]) for m, _ in batch], contacts)
            remaining -= {m["id"] for m, _ in batch}
        return len(claimed)

    async def _extend(self, ids: list[Any]) -> None:
        async with self.db.transaction() as session:
            await (await driver(session)).execute(_EXTEND, ids, self.lease_seconds)

    def _outgoing(
        self, message: Claimed, contact: asyncpg.Record | None, template: asyncpg.Record | None
    ) -> Outgoing | Outcome:
        """The message as its provider takes it, or why it cannot go: the person has no
        address on its channel any more, or the template changed so that the values the
        message was queued with no longer fill it. The provider's template is filled as the
        template says (`provider_params`)."""
        if message["priority"] == "greeting" and contact is not None and contact["opted_out"]:
            return Outcome("permanent", code=OPTED_OUT)  # 退订 since it was queued: any channel
        address = self._address(message["channel"], message["recipient_id"], contact)
        if address is None:
            return Outcome("permanent", code="no_address", detail="联系方式已不可用")
        values = {k: str(v) for k, v in message["params"].items()}
        try:
            params = (
                values  # the template deleted since: every value, under our names
                if template is None
                else provider_params(template["provider_params"], template["variables"], values)
            )
        except TemplateError as exc:
            return Outcome("permanent", code="template_render_failed", detail=str(exc)[:200])
        # the provider's template as it is now, with the values it is now filled with
        current = message if template is None else template
        return Outgoing(
            message_id=message["id"],
            address=address,
            body=message["body"],
            template_code=current["provider_template_code"],
            sign_name=current["sign_name"],
            params=params,
        )

    def _address(
        self, channel: str, recipient_id: Any, contact: asyncpg.Record | None
    ) -> str | None:
        if channel == "console":
            return str(recipient_id)
        if contact is None:
            return None
        try:
            if channel == "sms" and contact["phone_encrypted"] is not None:
                return self.vault.decrypt(contact["phone_encrypted"])
            if channel == "wecom" and contact["wecom_key_encrypted"] is not None:
                return self.vault.decrypt(contact["wecom_key_encrypted"])
        except DecryptionFailed:
            log.error("contact %s: an address no data key opens", contact["id"])
            return None
        return contact["wechat_openid"] if channel == "wechat" else None

    async def _record(
        self, outcomes: Sequence[tuple[Claimed, Outcome]], contacts: Mapping[Any, Any]
    ) -> None:
        """One transaction for the batch; the sent ones (nearly all) in one statement."""
        sent = [(m["id"], o.provider_message_id) for m, o in outcomes if o.status == "sent"]
        async with self.db.transaction() as session:
            connection = await driver(session)
            changed = list(await connection.fetch(_SENT, *zip(*sent, strict=True))) if sent else []
            for message, outcome in outcomes:
                if outcome.status != "sent":
                    row = await self._settle(session, connection, message, outcome, contacts)
                    changed += [row] if row is not None else []
            for row in changed:
                await events.message_outcome(session, row)

    async def _settle(
        self,
        session: AsyncSession,
        connection: asyncpg.Connection,
        message: Claimed,
        outcome: Outcome,
        contacts: Mapping[Any, Any],
    ) -> asyncpg.Record | None:
        """A message the provider did not take: retried, fallen back, or failed; one to a
        phone that unsubscribed, opted out (no fallback: they asked for no greetings)."""
        if outcome.code == OPTED_OUT:
            await connection.execute(_OPTED_OUT, message["id"])
            return None
        error = f"{outcome.code}: {outcome.detail}" if outcome.detail else outcome.code
        if outcome.status == "temporary" and message["attempts"] < self.max_attempts:
            delay = (
                outcome.retry_after or self.backoff[min(message["attempts"], len(self.backoff)) - 1]
            )
            await connection.execute(_RETRY, message["id"], delay, outcome.code, error)
            return None
        if await self._fall_back(session, connection, message, contacts, outcome.code, error):
            return None
        return await connection.fetchrow(_FAILED, message["id"], outcome.code, error)

    async def _fall_back(
        self,
        session: AsyncSession,
        connection: asyncpg.Connection,
        message: Claimed,
        contacts: Mapping[Any, Any],
        code: str | None,
        error: str | None,
    ) -> bool:
        """Queue the message again on its next fallback channel that has a template and a
        provider; False when none is left."""
        templates = await templates_for(session, message["template"])
        remaining = list(message["fallback"] or ())
        while remaining:
            channel = remaining.pop(0)
            template, provider = templates.get(channel), self.providers.get(channel)
            if template is None or provider is None:
                continue
            body, parts, why_not = wording(template, message["params"])
            if why_not:
                continue
            contact = contacts.get(message["recipient_id"])
            await connection.execute(
                _FALL_BACK,
                message["id"],
                channel,
                provider.name,
                template.code,
                body,
                parts,
                template.provider_template_code,
                template.sign_name,
                masked_address(contact, channel),
                remaining,
                code,
                error,
            )
            return True
        return False
