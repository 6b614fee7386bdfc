"""Attendance reports on a province-sized roster: what a county's month and a province's month
cost, through the real service over HTTP.

`python -m bench.reports` (part of `make bench`) starts PostgreSQL from the wheel on a free
port in a temporary folder, migrates an attendance database, and generates a province (51):
50,000 cadres on village teams in 180 counties and a month (November 2026) of their days in the
day-status read model, as check-ins, leave and the daily job leave it (about 85% present, some
leave, training and trips, the rest absent, a few flagged). It starts the attendance service
(`python -m zhucun.cli serve attendance`) against it and times, one request after another:

- `attendance_county_month_p95_ms`: the county month report, every cadre of Pingshan (511529)
  ranked (`GET /reports/cadres?region_code=511529&from=2026-11-01&to=2026-11-30`);
- `attendance_province_month_p95_ms`: the province month report, its 180 counties ranked
  (`GET /reports/regions?level=county&region_code=51&...`).

It writes `bench/results/<date>-reports.json` and `.md`. A benchmark, not a test: it records
what the machine gave. Target: the county's p95 under 300 ms.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import record
from services.common.db import on_database, plain_url
from services.common.devservers import PostgresServer, free_port
from services.common.migrate import upgrade
from services.common.testing import TokenIssuer, eventually, listening

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MONTH = ("2026-11-01", "2026-11-30")
TARGET_COUNTY_P95_MS = 300.0

# 180 counties of 20 cities (5101..5120, counties 01..09 each): the province's villages hold
# three cadres each, so the counties' ~93 villages in ~10 townships.
_ROSTER = """
INSERT INTO team_member (id, cadre_id, region_code, role, unit_name, term_start, created_at)
SELECT gen_random_uuid(), gen_random_uuid(),
    '51' || lpad((1 + (v / 9 / 93) % 20)::text, 2, '0')
         || lpad((1 + (v / 93) % 9)::text, 2, '0')
         || lpad((100 + (v % 93) / 10)::text, 3, '0')
         || lpad((201 + (v % 93) % 10)::text, 3, '0'),
    (ARRAY['first_secretary', 'team_leader', 'member'])[1 + c],
    '派出单位' || (v % 500), DATE '2026-01-01', now()
FROM generate_series(0, :villages - 1) AS v, generate_series(0, 2) AS c
"""
# Pingshan is one of the counties: its cadres move there, as the demo county's would be.
_PINGSHAN = (
    "UPDATE team_member SET region_code = '511529' || substr(region_code, 7) "
    "WHERE region_code LIKE '510101%'"
)
_DAYS = """
INSERT INTO cadre_day (cadre_id, day, region_code, present_checkins, flagged_checkins,
                       absence_kind)
SELECT cadre_id, day::date, region_code,
    CASE WHEN r < 0.85 THEN 1 + (r * 100)::int % 2 ELSE 0 END,
    CASE WHEN r < 0.02 THEN 1 ELSE 0 END,
    CASE WHEN r >= 0.85 AND r < 0.88 THEN 'leave' WHEN r >= 0.88 AND r < 0.90 THEN 'training'
         WHEN r >= 0.90 AND r < 0.92 THEN 'trip' END
FROM (SELECT cadre_id, region_code, day, random() AS r FROM team_member,
      generate_series(DATE '2026-11-01', DATE '2026-11-30', interval '1 day') AS day) AS d
"""


async def generate(url: str, cadres: int) -> dict[str, int]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        villages = cadres // 3
        await conn.execute(_ROSTER.replace(":villages", str(villages)))
        await conn.execute(_PINGSHAN)
        await conn.execute(_DAYS)
        await conn.execute("VACUUM ANALYZE team_member")
        await conn.execute("VACUUM ANALYZE cadre_day")
        return {
            "cadres": await conn.fetchval("SELECT count(*) FROM team_member"),
            "cadre_days": await conn.fetchval("SELECT count(*) FROM cadre_day"),
            "pingshan_cadres": await conn.fetchval(
                "SELECT count(*) FROM team_member WHERE region_code LIKE '511529%'"
            ),
            "counties": await conn.fetchval(
                "SELECT count(DISTINCT left(region_code, 6)) FROM team_member"
            ),
        }
    finally:
        await conn.close()


async def timed(client: httpx.AsyncClient, path: str, params: dict, runs: int) -> dict[str, Any]:
    """`runs` requests one after another (after two unmeasured ones): their latencies."""
    for _ in range(2):
        (await client.get(path, params=params)).raise_for_status()
    latencies, rows = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(path, params=params)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        rows = len(response.json()["items"])
    latencies.sort()
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 1),
        "max_ms": round(latencies[-1], 1),
        "runs": runs,
        "rows": rows,
    }


async def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    server = PostgresServer(folder / "postgres", free_port())
    server.start()
    issuer = TokenIssuer()
    try:
        url = on_database(server.url, "zhucun_bench_reports")
        await upgrade("attendance", url)
        started = time.perf_counter()
        generated = await generate(url, args.cadres)
        generated["seconds"] = round(time.perf_counter() - started, 1)
        async with listening(issuer.app()) as jwks:
            port = free_port()
            env = {
                **os.environ,
                "ATTENDANCE_DATABASE_URL": url,
                "ATTENDANCE_AUTH_JWKS_URL": f"{jwks}/jwks",
                "ATTENDANCE_JOBS_ENABLED": "false",
                "NATS_URL": f"nats://127.0.0.1:{free_port()}",  # none: reports need no events
                "ATTENDANCE_LOG_LEVEL": "warning",
            }
            log = (folder / "attendance.log").open("wb")
            service = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "zhucun.cli", "serve", "attendance"),
                *("--port", str(port), "--no-migrate"),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                async with httpx.AsyncClient(base_url=base, timeout=60) as client:

                    async def up() -> bool:
                        try:
                            return (await client.get("/healthz")).status_code == 200
                        except httpx.HTTPError:
                            return False

                    await eventually(up, bool, within=60, interval=0.2)
                    client.headers.update(
                        issuer.headers("county_admin", region_code="510000000000")
                    )
                    period = {"from": MONTH[0], "to": MONTH[1], "limit": 500}
                    county = await timed(
                        client,
                        "/api/v1/attendance/reports/cadres",
                        {**period, "region_code": "511529"},
                        args.runs,
                    )
                    province = await timed(
                        client,
                        "/api/v1/attendance/reports/regions",
                        {**period, "region_code": "51", "level": "county"},
                        max(5, args.runs // 5),
                    )
            finally:
                service.terminate()
                await asyncio.wait_for(service.wait(), timeout=30)
                log.close()
    finally:
        server.stop()
    return {"generated": generated, "county": county, "province": province}


def report(results: dict[str, Any]) -> str:
    details = results["details"]
    g, county, province = details["generated"], details["county"], details["province"]
    return "\n".join(
        [
            f"# Attendance reports, {results['date']}",
            "",
            f"Generated: {g['cadres']:,} cadres in {g['counties']} counties, "
            f"{g['cadre_days']:,} cadre-days (November 2026), in {g['seconds']} s; "
            f"Pingshan has {g['pingshan_cadres']} cadres.",
            "",
            "| key | p50 ms | p95 ms | max ms | rows | runs |",
            "|---|---|---|---|---|---|",
            f"| attendance_county_month_p95_ms | {county['p50_ms']} | {county['p95_ms']} | "
            f"{county['max_ms']} | {county['rows']} | {county['runs']} |",
            f"| attendance_province_month_p95_ms | {province['p50_ms']} | {province['p95_ms']} "
            f"| {province['max_ms']} | {province['rows']} | {province['runs']} |",
            "",
            f"Target: the county's p95 under {TARGET_COUNTY_P95_MS:g} ms: "
            + ("met." if results["targets"]["county_p95_met"] else "NOT met."),
            "",
            f"Machine: {results['machine']}",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__)
    parser.add_argument("--cadres", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=50, help="county reports timed")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zhucun-bench-reports-") as folder:
        measured = asyncio.run(measure(args, Path(folder)))
    results = {
        "date": date.today().isoformat(),
        "attendance_county_month_p95_ms": measured["county"]["p95_ms"],
        "attendance_province_month_p95_ms": measured["province"]["p95_ms"],
        "targets": {
            "county_p95_ms": TARGET_COUNTY_P95_MS,
            "county_p95_met": measured["county"]["p95_ms"] < TARGET_COUNTY_P95_MS,
        },
        "details": measured,
        "machine": record.machine(),
    }
    record.save(args.results, "reports", results, report(results))


if __name__ == "__main__":
    main()
