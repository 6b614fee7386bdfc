"""`make bench`: start the stack, load it from separate processes, record bench/results/<date>.

One run measures, every server started the same way (uvicorn[standard], uvloop + httptools, one
worker, no access log):

  (a) hello_rps            a bare FastAPI hello endpoint (bench/bare.py)
  (e) bare_checkin_rps     the floor: the same checkin + outbox rows, one transaction, raw asyncpg
  (b) checkin_direct_rps   the real POST /api/v1/attendance/checkins, straight to attendance
  (c) checkin_gateway_rps  the same POST through the gateway
  (d) event_latency_*_ms   commit of the check-in to notify's handler, at a steady 200/s

Load comes from wrk when it is on PATH (a Lua script gives every POST a new client_id), else from
bench/load.py; either way a process of its own. Every POST load is a crowd of distinct cadres
(`--cadres`, 1000), each with their own token, round robin, new for each run. See bench/README.md
for what is measured how.
"""

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench import profile
from bench.load import REGION_CODE, percentile
from gateway.identity import tokens
from gateway.settings import GatewaySettings
from services.common.db import Database, plain_url
from services.common.devservers import free_port, stop_process
from services.common.sensitive import SensitiveData
from zhucun.stack import SERVICES, Stack, database_url, wait_http

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "checkin.lua"
CHECKIN_PATH = "/api/v1/attendance/checkins"
# The bench's own databases (zhucun_bench_attendance ...) on the PostgreSQL it starts.
DATABASE_PREFIX = "zhucun_bench"

TARGETS = {
    "direct_over_floor": 0.75,
    "gateway_over_direct": 0.6,
    "event_latency_p99_ms": 250.0,
}


@dataclass(frozen=True)
class Crowd:
    """The cadres that check in during one run, each with their own token; `path` holds them,
    one `cadre_id token` a line, for the load tool."""

    cadres: list[uuid.UUID]
    path: Path


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data_dir = Path(tempfile.mkdtemp(prefix="zhucun-bench-"))
        self.stack = Stack(
            data_dir=self.data_dir,
            gateway_port=free_port(),
            service_ports={name: free_port() for name in SERVICES},
            pg_port=free_port(),
            nats_port=free_port(),
            seed=False,
            database_prefix=DATABASE_PREFIX,
            # A crowd of 1000 cadres sends each a check-in every few seconds, under the
            # gateway's per-user limit; a small --cadres (1 is the load before 2026-12-04) sends
            # each far more than a person ever does. Lifted for the bench alone.
            extra_env={
                "GATEWAY_RATE_LIMIT_USER_PER_SECOND": "1000000",
                "GATEWAY_RATE_LIMIT_USER_BURST": "1000000",
            },
        )
        self.bare_port = free_port()
        self.bare: subprocess.Popen | None = None
        self.children: list[subprocess.Popen] = []  # load generators and py-spy, while running
        self.crowds = 0  # crowds made so far, to name their files
        self.tool = args.tool
        if self.tool == "auto":
            self.tool = "wrk" if shutil.which("wrk") else "python"

    # -- processes -------------------------------------------------------------------------

    def start(self) -> None:
        log(f"starting the stack in {self.data_dir}")
        started = time.monotonic()
        self.stack.start()
        env = {**os.environ, "BENCH_DATABASE_URL": self.attendance_url}
        with (self.data_dir / "logs" / "bare.log").open("ab") as out:
            self.bare = subprocess.Popen(
                [sys.executable, "-m", "bench.bare", "--port", str(self.bare_port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_http(f"{self.bare_url}/hello", self.bare)
        log(f"stack and bare app up in {time.monotonic() - started:.1f}s")

    def stop(self) -> None:
        for child in self.children:
            stop_process(child)
        self.children.clear()
        if self.bare is not None:
            stop_process(self.bare)
            self.bare = None
        began = time.monotonic()
        self.stack.stop()
        if time.monotonic() - began > 5:
            log(f"the stack took {time.monotonic() - began:.1f}s to stop")

    def _wait_http(self, url: str, process: subprocess.Popen, timeout: float = 60) -> None:
        wait_http(url, process, self.data_dir / "logs", timeout)

    @property
    def bare_url(self) -> str:
        return f"http://127.0.0.1:{self.bare_port}"

    @property
    def attendance_url(self) -> str:
        return plain_url(database_url(self.stack.database_url, "attendance", DATABASE_PREFIX))

    @property
    def notify_url(self) -> str:
        return plain_url(database_url(self.stack.database_url, "notify", DATABASE_PREFIX))

    # -- CPU accounting ----------------------------------------------------------------------

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds used so far by each part: services, bare app, PostgreSQL, NATS, load tool."""
        stats = _proc_stats()
        snapshot: dict[str, float] = {}
        for name, process in self.stack.processes.items():
            snapshot[name] = stats.get(process.pid, (0, 0.0))[1]
        if self.bare is not None:
            snapshot["bare"] = stats.get(self.bare.pid, (0, 0.0))[1]
        if self.stack.postgres is not None and self.stack.postgres.process is not None:
            root = self.stack.postgres.process.pid
            snapshot["postgres"] = sum(
                used for pid, (parent, used) in stats.items() if pid == root or parent == root
            )
        if self.stack.nats is not None and self.stack.nats.process is not None:
            snapshot["nats"] = stats.get(self.stack.nats.process.pid, (0, 0.0))[1]
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        snapshot["load tool"] = children.ru_utime + children.ru_stime
        own = resource.getrusage(resource.RUSAGE_SELF)
        snapshot["bench"] = own.ru_utime + own.ru_stime
        snapshot["machine"] = _machine_busy()
        snapshot["wall"] = time.monotonic()
        return snapshot

    @staticmethod
    def cores_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """Average cores each part kept busy between two snapshots (the load tool's once reaped)."""
        wall = after["wall"] - before["wall"]
        used = {
            name: round((after[name] - before.get(name, 0.0)) / wall, 2)
            for name in after
            if name != "wall" and wall > 0
        }
        known = sum(v for name, v in used.items() if name != "machine")
        used["other"] = round(max(0.0, used["machine"] - known), 2)
        return {
            name: value
            for name, value in used.items()
            if value >= 0.01 or name in ("machine", "other")
        }

    # -- load ------------------------------------------------------------------------------

    def load(self, url: str, seconds: float, *, crowd: Crowd | None) -> dict[str, Any]:
        """Closed-loop load on `url` for `seconds` from a process of its own: POSTs by `crowd`,
        round robin, or GETs without one."""
        connections = self.args.connections
        if self.tool == "wrk":
            command = [
                "wrk", f"-t{self.args.threads}", f"-c{connections}", f"-d{seconds:g}s",
                "--latency", "--timeout", "10s",
            ]  # fmt: skip
            if crowd is not None:
                command += ["-s", str(LUA), url, "--", secrets.token_hex(4), str(crowd.path)]
            else:
                command += [url]
            result = parse_wrk(self._child(command))
            if crowd is not None:
                result["cadres"] = len(crowd.cadres)
            return result
        command = [
            sys.executable, "-m", "bench.load", "closed", "--url", url,
            "--method", "POST" if crowd is not None else "GET",
            "--connections", str(connections), "--duration", f"{seconds:g}",
        ]  # fmt: skip
        if crowd is not None:
            command += ["--cadres", str(crowd.path)]
        return json.loads(self._child(command))

    def crowd(self) -> Crowd:
        """`--cadres` new cadres, each with an access token signed with the gateway's own key,
        as at sign-in (the services verify every check-in's token, and a cadre checks in only
        for themselves), written to a file of the data dir for the load tool."""
        cadres = [uuid.uuid4() for _ in range(self.args.cadres)]
        signed = asyncio.run(self._sign(cadres))
        self.crowds += 1
        path = self.data_dir / f"crowd-{self.crowds}.txt"
        lines = (f"{cadre} {token}\n" for cadre, token in zip(cadres, signed, strict=True))
        path.write_text("".join(lines))
        return Crowd(cadres=cadres, path=path)

    async def _sign(self, cadres: list[uuid.UUID]) -> list[str]:
        """Tokens for the cadres, from one load of the gateway's current key: one database trip
        for the whole crowd."""
        settings = GatewaySettings(
            database_url=database_url(self.stack.database_url, "gateway", DATABASE_PREFIX),
            nats_url=self.stack.nats_url,
        )
        db = Database(settings.database_url, pool_size=1)
        try:
            async with db.transaction() as session:
                kid, key = await tokens.current_key(
                    session, SensitiveData(settings.data_keys, settings.hash_key)
                )
        finally:
            await db.dispose()
        return [
            tokens.sign(
                kid,
                key,
                subject=cadre,
                roles=["first_secretary"],
                region_code=REGION_CODE,
                ttl=timedelta(hours=1),
            )
            for cadre in cadres
        ]

    def _child(self, command: list[str], timeout: float = 300) -> str:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.children.append(process)
        try:
            out, err = process.communicate(timeout=timeout)
        finally:
            stop_process(process)
            self.children.remove(process)
        if process.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({process.returncode}): {err.strip()}")
        return out

    def throughput(self, name: str, url: str, *, post: bool, warm_up: bool) -> dict[str, Any]:
        """Warm up (the first time), let the event backlog drain, then measure. POSTs come from
        a crowd of their own, and the warm-up's from another."""
        if warm_up and self.args.warmup > 0:
            self.load(url, self.args.warmup, crowd=self.crowd() if post else None)
        crowd = self.crowd() if post else None
        drained = self.drain() if post else None
        crowd_size = f", {len(crowd.cadres)} cadres" if crowd else ""
        log(f"{name}: {self.args.duration:g}s, {self.args.connections} connections{crowd_size}, "
            f"{url}")  # fmt: skip
        before = self.cpu_snapshot()
        result = self.load(url, self.args.duration, crowd=crowd)
        result["cpu_cores"] = self.cores_used(before, self.cpu_snapshot())
        if crowd is not None:
            result["rows_written"] = asyncio.run(self.count_rows(crowd))
            result["drained_before_s"] = drained
        log(f"{name}: {result['rps']:.0f} req/s, p50 {result['latency_p50_ms']} ms, "
            f"p99 {result['latency_p99_ms']} ms, non-2xx {result['non_2xx']}, "
            f"errors {result['errors']}")  # fmt: skip
        return result

    # -- the event path ----------------------------------------------------------------------

    def drain(self, timeout: float | None = None) -> float:
        """Wait until notify has a message for every check-in; the seconds it took."""
        timeout = self.args.drain_timeout if timeout is None else timeout
        started = time.monotonic()
        behind = asyncio.run(self.backlog())
        while behind > 0 and time.monotonic() - started < timeout:
            time.sleep(0.5)
            behind = asyncio.run(self.backlog())
        took = round(time.monotonic() - started, 1)
        if behind > 0:
            log(f"notify still {behind} messages behind after {took}s; going on")
        elif took >= 1:
            log(f"event backlog drained in {took}s")
        return took

    async def backlog(self) -> int:
        checkins = await _fetchval(self.attendance_url, "SELECT count(*) FROM checkin")
        messages = await _fetchval(
            self.notify_url, "SELECT count(*) FROM message WHERE template = 'checkin_receipt'"
        )
        return checkins - messages

    async def count_rows(self, crowd: Crowd) -> int:
        """The check-ins the crowd's run wrote."""
        query = "SELECT count(*) FROM checkin WHERE cadre_id = ANY($1::uuid[])"
        return await _fetchval(self.attendance_url, query, crowd.cadres)

    def event_latency(self, via: str) -> dict[str, Any]:
        """(d): a steady, paced load; commit-to-handler latency of every event it caused."""
        self.drain()
        crowd = self.crowd()
        rate, seconds = self.args.rate, self.args.latency_seconds
        base = self.stack.gateway_url if via == "gateway" else self.stack.service_url("attendance")
        log(f"(d) event latency: {rate:g} check-ins/s for {seconds:g}s by {len(crowd.cadres)} "
            f"cadres, {via}")  # fmt: skip
        command = [
            sys.executable, "-m", "bench.load", "paced", "--url", f"{base}{CHECKIN_PATH}",
            "--cadres", str(crowd.path),
            "--rate", f"{rate:g}", "--duration", f"{seconds:g}",
            "--connections", str(self.args.connections),
        ]  # fmt: skip
        before = self.cpu_snapshot()
        load = json.loads(self._child(command))
        cpu = self.cores_used(before, self.cpu_snapshot())
        expected = asyncio.run(self.count_rows(crowd))
        deadline = time.monotonic() + self.args.drain_timeout
        events = asyncio.run(self.event_times(crowd))
        while len(events) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
            events = asyncio.run(self.event_times(crowd))
        total = [handled - recorded for recorded, _, handled in events]
        to_claim = [claimed - recorded for recorded, claimed, _ in events]
        claim_to_handler = [handled - claimed for _, claimed, handled in events]
        result = {
            "rate": rate,
            "seconds": seconds,
            "via": via,
            "cadres": len(crowd.cadres),
            "load": load,
            "cpu_cores": cpu,
            "checkins": expected,
            "messages_arrived": len(events),
            "latency_p50_ms": _ms(percentile(total, 50)),
            "latency_p90_ms": _ms(percentile(total, 90)),
            "latency_p99_ms": _ms(percentile(total, 99)),
            "latency_max_ms": _ms(max(total) if total else None),
            # The split at the relay: from the check-in to the start of the relay's transaction
            # that published it (outbox.published_at is now(), the transaction's start), then on
            # to notify's handler (publish, JetStream ack, mark, commit, delivery, handler).
            "to_relay_claim_p50_ms": _ms(percentile(to_claim, 50)),
            "to_relay_claim_p99_ms": _ms(percentile(to_claim, 99)),
            "relay_claim_to_handler_p50_ms": _ms(percentile(claim_to_handler, 50)),
            "relay_claim_to_handler_p99_ms": _ms(percentile(claim_to_handler, 99)),
        }
        log(f"(d) event latency: {len(events)}/{expected} arrived, p50 "
            f"{result['latency_p50_ms']} ms, p99 {result['latency_p99_ms']} ms")  # fmt: skip
        return result

    async def event_times(self, crowd: Crowd) -> list[tuple[float, float, float]]:
        """(recorded, claimed by the relay, handled), in ms, for each of the phase's events
        (its crowd's check-ins) that notify has handled.

        The join: notify's message.event_id is the event's id, which is attendance's outbox.id;
        the outbox payload (the CloudEvents envelope) names the check-in in data.checkin_id, and
        checkin.recorded_at is when the check-in was recorded, just before its commit.
        message.created_at is stamped by notify's handler when it handles the event.
        """
        conn = await asyncpg.connect(self.attendance_url)
        try:
            rows = await conn.fetch(
                "SELECT o.id AS event_id, c.recorded_at, o.published_at FROM checkin c "
                "JOIN outbox o ON o.type = 'attendance.checkin.recorded' "
                "AND (convert_from(o.payload, 'UTF8')::jsonb #>> '{data,checkin_id}')::uuid = c.id "
                "WHERE c.cadre_id = ANY($1::uuid[])",
                crowd.cadres,
            )
        finally:
            await conn.close()
        committed = {row["event_id"]: row for row in rows}
        conn = await asyncpg.connect(self.notify_url)
        try:
            handled = await conn.fetch(
                "SELECT event_id, created_at FROM message WHERE event_id = ANY($1::uuid[])",
                list(committed),
            )
        finally:
            await conn.close()
        times = []
        for row in handled:
            event = committed[row["event_id"]]
            recorded = event["recorded_at"].timestamp() * 1000
            claimed = (event["published_at"] or event["recorded_at"]).timestamp() * 1000
            times.append((recorded, claimed, row["created_at"].timestamp() * 1000))
        return times

    # -- profiling -------------------------------------------------------------------------

    def profile(self, stamp: str) -> Path | None:
        """py-spy the floor, attendance and the gateway under the (e), (b) and (c) loads."""
        spy = profile.find_py_spy()
        if spy is None:
            log("py-spy not found; no profile (pip install py-spy into the venv)")
            return None
        seconds = self.args.profile_seconds
        sections: list[str] = []
        pids = {name: process.pid for name, process in self.stack.processes.items()}
        if self.bare is not None:
            pids["bare"] = self.bare.pid
        for name, url, targets in (
            ("bare_checkin", f"{self.bare_url}/checkins", ["bare"]),
            ("checkin_direct", f"{self.stack.service_url('attendance')}{CHECKIN_PATH}",
             ["attendance"]),
            ("checkin_gateway", f"{self.stack.gateway_url}{CHECKIN_PATH}",
             ["gateway", "attendance"]),
        ):  # fmt: skip
            crowd = self.crowd()
            self.drain()
            log(f"profiling {', '.join(targets)} under the {name} load for {seconds:g}s")
            spies = {
                target: profile.start(spy, pids[target], seconds - 1,
                                      self.data_dir / f"{name}-{target}.txt")
                for target in targets
            }  # fmt: skip
            self.children.extend(spies.values())
            try:
                result = self.load(url, seconds, crowd=crowd)
            finally:
                for process in spies.values():
                    try:
                        process.wait(30)
                    finally:
                        stop_process(process)
                        self.children.remove(process)
            for target in targets:
                raw = self.data_dir / f"{name}-{target}.txt"
                title = f"{target} under the {name} load ({result['rps']:.0f} req/s while sampled)"
                sections.append(profile.summarise(raw, title))
        out = self.args.results / f"{stamp}-profile.md"
        out.write_text(
            f"# py-spy profile, {stamp}\n\n"
            f"{seconds:g}s of sampling at 100 Hz per process, under the same load as the "
            "measured runs, after them (`python -m bench.run`, `--profile auto|always`).\n"
            "*self*: the sample's innermost Python frame (time in C code is charged to the Python "
            "frame that called it); *total*: the frame is anywhere on the stack. A coroutine "
            "resumed by the event loop, and SQLAlchemy's greenlets, start stacks of their own, "
            "so *total* undercounts the outer frames (a request's handler); *self* and the "
            "breakdown by stage do not depend on it. The stages are assigned by bench/profile.py "
            "from the innermost frame and what is below it.\n\n" + "\n".join(sections)
        )
        return out


# -- helpers ---------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def _fetchval(url: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far) for every process we can read."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK)
    return stats


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (not idle or iowait)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICK


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(out: str) -> dict[str, Any]:
    """The numbers of wrk's report (run with --latency)."""

    def latency(q: str) -> float | None:
        found = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return round(float(found[1]) * _UNITS[found[2]], 2) if found else None

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if rps is None or total is None:
        raise RuntimeError(f"could not read wrk's report:\n{out}")
    return {
        "requests": int(total[1]),
        "seconds": round(float(total[2]) * _UNITS[total[3]] / 1000, 2),
        "rps": round(float(rps[1]), 1),
        "non_2xx": int(non_2xx[1]) if non_2xx else 0,
        "errors": sum(int(n) for n in sockets.groups()) if sockets else 0,
        "latency_p50_ms": latency("50"),
        "latency_p99_ms": latency("99"),
    }


def machine(tool: str, args: argparse.Namespace, load_average: list[float]) -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    if tool == "wrk":
        version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
        described = f"{version.splitlines()[0].split(' Copyright')[0]}" if version else "wrk"
        described += f" -t{args.threads} -c{args.connections} -d{args.duration:g}s"
    else:
        described = f"bench/load.py (aiohttp) closed loop, {args.connections} connections"
    import fastapi
    import uvicorn

    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_tool": described,
        "latency_load_tool": f"bench/load.py paced (open loop), {args.rate:g}/s, "
        + {
            "direct": "straight to attendance",
            "gateway": "through the gateway",
            "both": "straight to attendance, then through the gateway",
        }[args.latency_via],
        "load_average_at_start": load_average,
        "server": f"uvicorn {uvicorn.__version__} [uvloop, httptools], 1 worker, "
        f"fastapi {fastapi.__version__}",
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput, carrying every round's req/s."""
    ordered = sorted(runs, key=lambda run: run["rps"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rps"] = round(statistics.median(run["rps"] for run in runs), 1)
    chosen["rps_rounds"] = [run["rps"] for run in runs]
    return chosen


def _ratio(top: float, bottom: float) -> float | None:
    return round(top / bottom, 3) if bottom else None


def _latency_sentence(name: str, latency: dict[str, Any]) -> str:
    load = latency["load"]
    route = "through the gateway" if latency["via"] == "gateway" else "straight to attendance"
    return (
        f"{name}: {load['sent']} check-ins offered at {load['offered_rps']}/s {route} (HTTP p50 "
        f"{load['latency_p50_ms']} ms, p99 {load['latency_p99_ms']} ms, non-2xx "
        f"{load['non_2xx']}, errors {load['errors']}); {latency['messages_arrived']} of "
        f"{latency['checkins']} events reached notify; commit to notify's handler p50 "
        f"{latency['latency_p50_ms']} ms, p90 {latency['latency_p90_ms']} ms, p99 "
        f"{latency['latency_p99_ms']} ms, max {latency['latency_max_ms']} ms. Split at the "
        f"relay: check-in to the relay's claim p50 {latency['to_relay_claim_p50_ms']} / p99 "
        f"{latency['to_relay_claim_p99_ms']} ms; claim to notify's handler p50 "
        f"{latency['relay_claim_to_handler_p50_ms']} / p99 "
        f"{latency['relay_claim_to_handler_p99_ms']} ms."
    )


def report(results: dict[str, Any]) -> str:
    """The markdown beside the JSON: the measures against their targets, then the detail."""

    def met(value: float | None, target: float, at_most: bool = False) -> str:
        if value is None:
            return "**no**"
        return "yes" if (value <= target if at_most else value >= target) else "**no**"

    details = results["details"]
    latency = details["event_latency"]
    route = "via gateway" if latency["via"] == "gateway" else "direct"
    rows = [
        ("(a) hello_rps", f"{results['hello_rps']:.0f} req/s", "", ""),
        ("(e) bare_checkin_rps (the floor)", f"{results['bare_checkin_rps']:.0f} req/s", "", ""),
        ("(b) checkin_direct_rps", f"{results['checkin_direct_rps']:.0f} req/s", "", ""),
        ("(c) checkin_gateway_rps", f"{results['checkin_gateway_rps']:.0f} req/s", "", ""),
        (
            "(b)/(e) direct_over_floor",
            f"{results['direct_over_floor']} (rounds: "
            + ", ".join(str(r) for r in results["direct_over_floor_rounds"])
            + ")",
            ">= 0.75",
            met(results["direct_over_floor"], 0.75),
        ),
        (
            "(c)/(b) gateway_over_direct",
            f"{results['gateway_over_direct']} (rounds: "
            + ", ".join(str(r) for r in results["gateway_over_direct_rounds"])
            + ")",
            ">= 0.6",
            met(results["gateway_over_direct"], 0.6),
        ),
        (f"(d) event_latency_p50_ms ({route})", f"{results['event_latency_p50_ms']} ms", "", ""),
        (
            f"(d) event_latency_p99_ms ({route})",
            f"{results['event_latency_p99_ms']} ms",
            "<= 250 ms",
            met(results["event_latency_p99_ms"], 250.0, at_most=True),
        ),
        (
            f"(d) events that reached notify ({route})",
            f"{latency['messages_arrived']} / {latency['checkins']}",
            "all",
            "yes" if latency["messages_arrived"] == latency["checkins"] else "**no**",
        ),
    ]
    if "event_latency_gateway" in details:
        other = details["event_latency_gateway"]
        rows += [
            ("(d) event latency p50, via gateway", f"{other['latency_p50_ms']} ms", "", ""),
            (
                "(d) event latency p99, via gateway",
                f"{other['latency_p99_ms']} ms",
                "(<= 250 ms)",
                met(other["latency_p99_ms"], 250.0, at_most=True),
            ),
            (
                "(d) events that reached notify, via gateway",
                f"{other['messages_arrived']} / {other['checkins']}",
                "all",
                "yes" if other["messages_arrived"] == other["checkins"] else "**no**",
            ),
        ]
    lines = [
        f"# Benchmark {results['date']}",
        "",
        "| measure | value | target | met? |",
        "|---|---|---|---|",
        *(f"| {m} | {v} | {t} | {ok} |" for m, v, t, ok in rows),
        "",
        "Throughput runs: closed loop, "
        f"{results['settings']['connections']} connections, "
        f"{results['settings']['duration_s']:g} s each, the first after "
        f"{results['settings']['warmup_s']:g} s of warm-up, each once notify has caught up with "
        f"every earlier check-in; (e), (b), (c) in {results['settings']['rounds']} rounds, the "
        "measure is the median; the ratios are of the medians. Latency columns and rows written: "
        "the median round. Every POST run, (d) included, checks in as a crowd of "
        f"{results['settings']['cadres']} cadres of its own, round robin, each with their own "
        "token.",
        "",
        "| run | req/s (median) | rounds | p50 ms | p99 ms | non-2xx | socket errors "
        "| rows written |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("hello", "bare_checkin", "checkin_direct", "checkin_gateway"):
        d = details[name]
        each = ", ".join(f"{v:.0f}" for v in d.get("rps_rounds", [d["rps"]]))
        lines.append(
            f"| {name} | {d['rps']:.0f} | {each} | {d['latency_p50_ms']} | {d['latency_p99_ms']} "
            f"| {d['non_2xx']} | {d['errors']} | {d.get('rows_written', '')} |"
        )
    parts = ["bare", "attendance", "gateway", "notify", "postgres", "nats", "load tool", "other"]
    runs = ["hello", "bare_checkin", "checkin_direct", "checkin_gateway", "event_latency"]
    if "event_latency_gateway" in details:
        runs.append("event_latency_gateway")
    lines += [
        "",
        "CPU: the cores each part kept busy on average during the run (the machine has "
        f"{results['machine']['cores']}); `other` is the rest of the machine's busy time "
        "(processes outside the benchmark, idle services, the kernel). In brackets: CPU "
        "milliseconds per request. Throughput runs: the median round.",
        "",
        "| run | " + " | ".join(parts) + " | machine |",
        "|---|" + "---|" * (len(parts) + 1),
    ]
    for name in runs:
        cpu = details[name].get("cpu_cores", {})
        rps = details[name].get("rps") or details[name].get("load", {}).get("rps") or 0

        def cell(part: str, cpu: dict[str, float] = cpu, rps: float = rps) -> str:
            if part not in cpu:
                return ""
            per = f" ({1000 * cpu[part] / rps:.2f})" if rps and part not in ("other",) else ""
            return f"{cpu[part]:.2f}{per}"

        lines.append(f"| {name} | " + " | ".join(cell(p) for p in [*parts, "machine"]) + " |")
    noisy = [
        f"{name} ({details[name]['cpu_cores']['other']:.2f})"
        for name in runs
        if details[name].get("cpu_cores", {}).get("other", 0) > 0.25
    ]
    if noisy:
        lines += [
            "",
            "**Outside load**: more than a quarter of a core went to processes outside the "
            "benchmark during " + ", ".join(noisy) + "; those numbers are lower than the machine "
            "gives when quiet.",
        ]
    lines += ["", _latency_sentence("Event latency run", latency)]
    if "event_latency_gateway" in details:
        lines += ["", _latency_sentence("Through the gateway", details["event_latency_gateway"])]
    lines += [
        "",
        "Machine: " + "; ".join(f"{k}: {v}" for k, v in results["machine"].items()),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--duration", type=float, default=8, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (e), (b), (c)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--cadres",
        type=int,
        default=1000,
        help="the crowd each POST load checks in as, round robin, each cadre with their own "
        "token: a county's cadres at the morning peak, new for each run",
    )
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--rate", type=float, default=200, help="(d): check-ins per second")
    parser.add_argument("--latency-seconds", type=float, default=20, help="(d): seconds")
    parser.add_argument(
        "--latency-via",
        choices=["direct", "gateway", "both"],
        default="both",
        help="(d): post the check-ins straight to attendance (the headline), through the "
        "gateway, or both, one after the other",
    )
    parser.add_argument("--drain-timeout", type=float, default=60)
    parser.add_argument(
        "--profile",
        choices=["auto", "always", "never"],
        default="auto",
        help="after the measured runs, py-spy attendance and the gateway under the (b) and (c) "
        "loads; auto: when a ratio target is missed",
    )
    parser.add_argument("--profile-seconds", type=float, default=10)
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write")
    parser.add_argument("--keep", action="store_true", help="keep the data dir: logs, raw stacks")
    args = parser.parse_args(argv)
    if args.cadres < 1:
        parser.error("--cadres must be at least 1")

    # SIGTERM (and SIGHUP) unwind like Ctrl-C, so the finally below stops what was started.
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    # Always servers of its own, from the wheels, in a temporary folder: never a developer's.
    for name in ("DATABASE_URL", "NATS_URL"):
        if os.environ.pop(name, None):
            log(f"{name} is set; the benchmark starts its own servers all the same")
    bench = Bench(args)
    stamp = date.today().isoformat()
    out = args.results
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    load_average = [round(v, 2) for v in os.getloadavg()]
    ok = False
    try:
        bench.start()
        stack = bench.stack
        targets = {
            "bare_checkin": ("(e) bare check-in", f"{bench.bare_url}/checkins"),
            "checkin_direct": ("(b) check-in direct", stack.service_url("attendance")),
            "checkin_gateway": ("(c) check-in via gateway", stack.gateway_url),
        }
        details: dict[str, Any] = {
            "hello": bench.throughput(
                "(a) hello", f"{bench.bare_url}/hello", post=False, warm_up=True
            )
        }
        # Rounds of (e), (b), (c) one after the other: the median of each is the measure, so a
        # burst of outside load on a shared machine moves one round, not the result.
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
        for round_number in range(args.rounds):
            for name, (label, base) in targets.items():
                url = base if name == "bare_checkin" else f"{base}{CHECKIN_PATH}"
                rounds[name].append(
                    bench.throughput(
                        f"{label} [{round_number + 1}/{args.rounds}]",
                        url,
                        post=True,
                        warm_up=round_number == 0,
                    )
                )
        for name, runs in rounds.items():
            details[name] = median_run(runs)
        if args.latency_via in ("direct", "both"):
            details["event_latency"] = bench.event_latency("direct")
        if args.latency_via in ("gateway", "both"):
            key = "event_latency" if args.latency_via == "gateway" else "event_latency_gateway"
            details[key] = bench.event_latency("gateway")
        results: dict[str, Any] = {
            "date": stamp,
            "hello_rps": details["hello"]["rps"],
            "bare_checkin_rps": details["bare_checkin"]["rps"],
            "checkin_direct_rps": details["checkin_direct"]["rps"],
            "checkin_gateway_rps": details["checkin_gateway"]["rps"],
            "event_latency_p50_ms": details["event_latency"]["latency_p50_ms"],
            "event_latency_p99_ms": details["event_latency"]["latency_p99_ms"],
            "event_latency_via": details["event_latency"]["via"],
            "direct_over_floor": _ratio(
                details["checkin_direct"]["rps"], details["bare_checkin"]["rps"]
            ),
            "gateway_over_direct": _ratio(
                details["checkin_gateway"]["rps"], details["checkin_direct"]["rps"]
            ),
            "targets": TARGETS,
            "machine": machine(bench.tool, args, load_average),
            "settings": {
                "connections": args.connections,
                "duration_s": args.duration,
                "rounds": args.rounds,
                "warmup_s": args.warmup,
                "wrk_threads": args.threads if bench.tool == "wrk" else None,
                "cadres": args.cadres,
                "latency_rate": args.rate,
                "latency_seconds": args.latency_seconds,
                "latency_via": args.latency_via,
            },
            "details": details,
        }
        if "event_latency_gateway" in details:
            results["event_latency_gateway_p50_ms"] = details["event_latency_gateway"][
                "latency_p50_ms"
            ]
            results["event_latency_gateway_p99_ms"] = details["event_latency_gateway"][
                "latency_p99_ms"
            ]
        results["direct_over_floor_rounds"] = [
            _ratio(b["rps"], e["rps"])
            for b, e in zip(rounds["checkin_direct"], rounds["bare_checkin"], strict=True)
        ]
        results["gateway_over_direct_rounds"] = [
            _ratio(c["rps"], b["rps"])
            for c, b in zip(rounds["checkin_gateway"], rounds["checkin_direct"], strict=True)
        ]
        results["met"] = {
            "direct_over_floor": (results["direct_over_floor"] or 0) >= 0.75,
            "gateway_over_direct": (results["gateway_over_direct"] or 0) >= 0.6,
            "event_latency_p99_ms": results["event_latency_p99_ms"] is not None
            and results["event_latency_p99_ms"] <= 250.0,
        }
        table = report(results)
        (out / f"{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
        (out / f"{stamp}.md").write_text(table)
        print(table)
        log(f"wrote {out / stamp}.json and .md")
        short = not (results["met"]["direct_over_floor"] and results["met"]["gateway_over_direct"])
        if args.profile == "always" or (args.profile == "auto" and short):
            written = bench.profile(stamp)
            if written is not None:
                log(f"wrote {written}")
        ok = True
    finally:
        log("stopping everything")
        bench.stop()
        if ok and not args.keep:
            shutil.rmtree(bench.data_dir, ignore_errors=True)
        elif not ok:  # keep the logs to read, not the databases
            shutil.rmtree(bench.data_dir / "postgres", ignore_errors=True)
            shutil.rmtree(bench.data_dir / "nats", ignore_errors=True)
            log(f"logs kept in {bench.data_dir / 'logs'}")
        else:
            log(f"data kept in {bench.data_dir}")
        log(f"done in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
