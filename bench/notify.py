"""Planning a greeting campaign for a million people: what `start_due` costs.

`python -m bench.notify` (part of `make bench`) starts PostgreSQL from the wheel on a free port
in a temporary folder, migrates a notify database, and generates an audience (COPY through
asyncpg's copy_records_to_table): 1,000,000 contacts of Pingshan (511529), 10,000 of them cadres
(users with roles) and the rest on ten uploaded lists; 1% of the listed share a phone with a
row of another list (greeted once), 2% have only WeChat, 1% no address at all, and 5,000 phones
have unsubscribed (退订). The phones' ciphertext is made once and reused for every row: Fernet
in Python for a million phones takes minutes, and only the planning is timed, which copies the
ciphertext without opening it. The hashes are distinct, as the keys are made from them.

It creates a campaign through the service (SMS then WeChat, the default greeting template and
a WeChat one), previews it, makes it due and times `start_due` as the dispatcher runs it: the
claim, the one INSERT ... SELECT of every message, and the commit.

- `campaign_plan_1m_s`: start_due, committed (target < 60 s);
- `campaign_plan_messages_per_s`: messages planned per second;
- `campaign_preview_1m_s`: the preview's counts over the same audience;
- `campaign_send_per_s`: then, with the million queued, the dispatcher sending for
  `--send-seconds` through a provider that takes every message at once, held to
  `--send-rate` a second: what it achieved (at most the rate: the limit holds) and how long a
  claim of a batch took (`claim_p50_ms`, `claim_p99_ms`: the claim reads by index, however
  many wait).

`--explain` also runs the planning statement under EXPLAIN (ANALYZE, BUFFERS) on a second
campaign (rolled back) and writes the plan into the report. It writes
`bench/results/<date>-notify.json` and `.md`. A benchmark, not a test: it records what the
machine gave.
"""

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bench import record
from services.common.auth import Caller
from services.common.db import Database, driver, on_database, plain_url
from services.common.devservers import PostgresServer, free_port
from services.common.ids import new_id
from services.common.migrate import upgrade
from services.common.permissions import permissions_of
from services.common.sensitive import SensitiveData, mask_phone
from services.common.settings import DEV_DATA_KEY, DEV_HASH_KEY
from services.notify.campaigns import service
from services.notify.campaigns.models import Campaign
from services.notify.campaigns.schemas import CampaignCreate
from services.notify.delivery.dispatcher import Dispatcher
from services.notify.providers.base import Outcome, Outgoing

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TARGET_PLAN_S = 60.0
TIMEZONE = ZoneInfo("Asia/Shanghai")
PROVIDERS = {"sms": "console", "wechat": "console", "wecom": "console"}
LISTS = 10
CADRES = 10_000
OPTED_OUT = 5_000
_COLUMNS = (
    "id", "kind", "name", "region_code", "roles", "list_id", "phone_encrypted", "phone_hash",
    "phone_masked", "wechat_openid", "active", "facts_at", "updated_at",
)  # fmt: skip
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"


def _village(n: int) -> str:
    """One of Pingshan's ~300 villages in 15 townships."""
    return f"511529{100 + n % 15:03d}{201 + n % 20:03d}"


def _contacts(total: int, lists: list[uuid.UUID], vault: SensitiveData) -> list[tuple[Any, ...]]:
    rng = random.Random(2027)
    sealed = vault.encrypt("13800000000")  # one ciphertext for all (see the module's doc)
    now = datetime.now(UTC)
    rows = []
    for n in range(total):
        name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
        cadre = n < CADRES
        draw = rng.random()  # 1% reachable by nothing, 2% by WeChat only, the rest by phone
        has_phone = draw >= 0.03
        # 1% of the listed: the phone of a row of the previous list (the same person twice)
        twice = not cadre and n >= total // LISTS and rng.random() < 0.01
        phone = f"139{n - total // LISTS if twice else n:08d}"
        rows.append(
            (
                uuid.uuid4(),
                "user" if cadre else "listed",
                name,
                _village(n),
                ["first_secretary" if n % 10 == 0 else "team_member"] if cadre else [],
                None if cadre else lists[n * LISTS // total],
                sealed if has_phone else None,
                vault.hash(phone) if has_phone else None,
                mask_phone(phone) if has_phone else None,
                f"oWx{n:012d}" if 0.01 <= draw < 0.03 else None,
                True,
                now,
                now,
            )
        )
    return rows


async def generate(url: str, total: int) -> dict[str, Any]:
    vault = SensitiveData([DEV_DATA_KEY], DEV_HASH_KEY)
    conn = await asyncpg.connect(plain_url(url))
    try:
        lists = [uuid.uuid4() for _ in range(LISTS)]
        await conn.executemany(
            "INSERT INTO contact_list (id, name, region_code, size, uploaded_by, created_at) "
            "VALUES ($1, $2, '511529000000', $3, $4, now())",
            [(i, f"名单{n}", total // LISTS, uuid.uuid4()) for n, i in enumerate(lists)],
        )
        started = time.perf_counter()
        rows = _contacts(total, lists, vault)
        made = time.perf_counter() - started
        await conn.copy_records_to_table("contact", records=rows, columns=_COLUMNS)
        await conn.executemany(
            "INSERT INTO opt_out (phone_hash, opted_out_at, via) VALUES ($1, now(), 'api') "
            "ON CONFLICT DO NOTHING",
            [(r[7],) for r in rows[CADRES :: (total - CADRES) // OPTED_OUT] if r[7]],
        )
        await conn.execute(
            "INSERT INTO template (id, code, channel, purpose, name, body, variables, "
            "created_at, updated_at) VALUES ($1, 'festival_greeting', 'wechat', 'greeting', "
            "'节日问候', '{{ name }}您好！{{ festival }}快乐！——{{ sender }}', "
            "'{name,festival,sender}', now(), now())",
            uuid.uuid4(),
        )
        await conn.execute("VACUUM ANALYZE")
        return {
            "contacts": await conn.fetchval("SELECT count(*) FROM contact"),
            "lists": LISTS,
            "cadres": CADRES,
            "opted_out": await conn.fetchval("SELECT count(*) FROM opt_out"),
            "rows_built_s": round(made, 1),
            "seconds": round(time.perf_counter() - started, 1),
            "lists_ids": [str(i) for i in lists],
        }
    finally:
        await conn.close()


async def _campaign(database: Database, lists: list[str]) -> uuid.UUID:
    caller = Caller(
        user_id=new_id(),
        roles=("county_admin",),
        scope="511529",
        permissions=permissions_of(["county_admin"]),
    )
    data = CampaignCreate.model_validate(
        {
            "name": "2027 年中秋问候",
            "region_code": "511529000000",
            "festival": {"code": "mid_autumn", "year": 2027},
            "template_code": "festival_greeting",
            "channels": ["sms", "wechat"],
            "audience": {"roles": ["first_secretary", "team_member"], "list_ids": lists},
        }
    )
    async with database.transaction() as session:
        campaign, _ = await service.create_campaign(session, data, caller, TIMEZONE)
    return campaign.id


async def _make_due(url: str, campaign_id: uuid.UUID) -> None:
    conn = await asyncpg.connect(plain_url(url))
    try:
        await conn.execute(
            "UPDATE campaign SET send_at = now() - interval '1 second' WHERE id = $1", campaign_id
        )
    finally:
        await conn.close()


async def _explain(database: Database, lists: list[str]) -> str:
    """The planning statement's plan, on a second campaign (rolled back)."""
    second = await _campaign(database, lists)
    async with database.sessions() as session:
        await session.begin()
        try:
            campaign = await session.get(Campaign, second)
            assert campaign is not None
            statement, args = await service.planning(
                session, campaign, providers=PROVIDERS, timezone=TIMEZONE
            )
            connection = await driver(session)
            rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *args)
        finally:
            await session.rollback()
    lines = [r[0] for r in rows]
    return "\n".join(lines)


async def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    server = PostgresServer(folder / "postgres", free_port())
    server.start()
    try:
        url = on_database(server.url, "zhucun_bench_notify")
        await upgrade("notify", url)
        generated = await generate(url, args.contacts)
        lists = generated.pop("lists_ids")
        database = Database(url)
        try:
            campaign_id = await _campaign(database, lists)
            async with database.transaction() as session:
                campaign = await session.get(Campaign, campaign_id)
                assert campaign is not None
                started = time.perf_counter()
                preview = await service.preview(
                    session, campaign, timezone=TIMEZONE, sms_price=Decimal("0.045")
                )
                preview_s = time.perf_counter() - started
            await _make_due(url, campaign_id)
            started = time.perf_counter()
            async with database.transaction() as session:
                claimed = await service.start_due(session, providers=PROVIDERS, timezone=TIMEZONE)
            plan_s = time.perf_counter() - started
            async with database.transaction() as session:
                stored = await session.get(Campaign, campaign_id)
                assert stored is not None
                counts = await service.progress(session, campaign_id)
                planned = stored.planned or 0
            explain = await _explain(database, lists) if args.explain else None
            sending = await _send(database, args.send_rate, args.send_seconds)
        finally:
            await database.dispose()
    finally:
        server.stop()
    return {
        "generated": generated,
        "claimed": claimed,
        "planned": planned,
        "plan_s": round(plan_s, 2),
        "preview_s": round(preview_s, 2),
        "preview": preview.model_dump(mode="json"),
        "progress": counts.model_dump(),
        "explain": explain,
        "sending": sending,
    }


class _Taking:
    """The bench's provider: takes every message at once (the dispatcher's own cost is what
    is measured), at the rate the bench gives it."""

    name = "console"  # what the planned messages name (PROVIDERS)
    channel = "sms"
    max_batch = 100

    def __init__(self, rate: float) -> None:
        self.rate_per_second = rate
        self.taken = 0

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        self.taken += len(batch)
        return [Outcome("sent", provider_message_id=str(out.message_id)) for out in batch]

    async def close(self) -> None:
        return None


async def _send(database: Database, rate: float, seconds: float) -> dict[str, Any]:
    """The dispatcher sending the planned campaign for `seconds`, outside quiet hours."""
    provider = _Taking(rate)
    away = datetime.now(TIMEZONE) + timedelta(hours=12)  # quiet hours far from now
    dispatcher = Dispatcher(
        database,
        SensitiveData([DEV_DATA_KEY], DEV_HASH_KEY),
        {channel: provider for channel in ("sms", "wechat", "wecom", "console")},
        timezone=str(TIMEZONE),
        quiet_starts=away.time(),
        quiet_ends=(away + timedelta(minutes=1)).time(),
    )
    batches: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        began = time.perf_counter()
        if not await dispatcher.dispatch(provider):
            break
        batches.append(time.perf_counter() - began)
    elapsed = time.perf_counter() - started
    # a batch's time is its claim, its pace (the wait the rate asks) and its record; the
    # claim and record alone: the batch less the pace's share of a batch at the rate
    paced = provider.max_batch / rate
    own = sorted(max(0.0, b - paced) for b in batches) or [0.0]
    return {
        "rate_limit_per_s": rate,
        "sent": provider.taken,
        "seconds": round(elapsed, 2),
        "per_s": round(provider.taken / elapsed),
        "batch_own_p50_ms": round(own[len(own) // 2] * 1000, 1),
        "batch_own_p99_ms": round(own[int(len(own) * 0.99)] * 1000, 1),
    }


def report(results: dict[str, Any]) -> str:
    details = results["details"]
    g, p = details["generated"], details["preview"]
    lines = [
        f"# Notify: a greeting campaign for a million, {results['date']}",
        "",
        f"Generated: {g['contacts']:,} contacts ({g['cadres']:,} cadres, the rest on "
        f"{g['lists']} lists), {g['opted_out']:,} opted out, in {g['seconds']} s "
        f"({g['rows_built_s']} s of it building the rows in Python).",
        "",
        "| key | value |",
        "|---|---|",
        f"| campaign_plan_1m_s | {results['campaign_plan_1m_s']} |",
        f"| campaign_plan_messages_per_s | {results['campaign_plan_messages_per_s']:,} |",
        f"| campaign_preview_1m_s | {results['campaign_preview_1m_s']} |",
        f"| planned | {details['planned']:,} |",
        f"| campaign_send_per_s | {results['campaign_send_per_s']:,} (limit "
        f"{details['sending']['rate_limit_per_s']:g}/s) |",
        f"| send_batch_own_p50_ms, p99 | {details['sending']['batch_own_p50_ms']}, "
        f"{details['sending']['batch_own_p99_ms']} (claim + record of 100, the pace left out) |",
        "",
        f"Preview: {p['recipients']:,} recipients of {p['contacts']:,} contacts "
        f"({p['duplicates']:,} duplicates), by channel {p['by_channel']}, "
        f"{p['unreachable']:,} unreachable, {p['opted_out']:,} opted out, "
        f"{p['sms_parts']} part(s) an SMS, {p['cost']} yuan.",
        "",
        "Messages by status: "
        + ", ".join(f"{k} {v:,}" for k, v in details["progress"].items() if v)
        + ".",
        "",
        f"Target: planning under {TARGET_PLAN_S:g} s: "
        + ("met." if results["targets"]["plan_met"] else "NOT met."),
        "",
        f"Machine: {results['machine']}",
    ]
    if details["explain"]:
        lines += ["", "## The planning statement's plan", "", "```", details["explain"], "```"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the planning")
    parser.add_argument("--send-rate", type=float, default=1000.0, help="the provider's limit")
    parser.add_argument("--send-seconds", type=float, default=15.0)
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zhucun-bench-notify-") as folder:
        measured = asyncio.run(measure(args, Path(folder)))
    results = {
        "date": date.today().isoformat(),
        "campaign_plan_1m_s": measured["plan_s"],
        "campaign_plan_messages_per_s": round(measured["planned"] / measured["plan_s"]),
        "campaign_preview_1m_s": measured["preview_s"],
        "campaign_send_per_s": measured["sending"]["per_s"],
        "targets": {"plan_s": TARGET_PLAN_S, "plan_met": measured["plan_s"] < TARGET_PLAN_S},
        "details": measured,
        "machine": record.machine(),
    }
    record.save(args.results, "notify", results, report(results))


if __name__ == "__main__":
    main()
