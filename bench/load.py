"""The Python load generator, always run as its own process (`python -m bench.load ...`).

`closed`: N connections, each sending its next request as soon as the last one answered, for a
          fixed time (the fallback when wrk is not on PATH).
`paced`:  open loop: request i leaves at start + i/rate whatever the answers do, so a slow server
          does not slow the offered load (the steady 200 check-ins/s of the event-latency run).

Every POST carries a new client_id, so each request is a new check-in, and comes from the next
cadre of a crowd (`--cadres FILE`, one `cadre_id token` a line, as bench/run.py writes it), round
robin, with that cadre's own access token: a county's cadres checking in, not one cadre thousands
of times a second. The result is one JSON object on stdout.
"""

import argparse
import asyncio
import itertools
import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import aiohttp

REGION_CODE = "511529100201"


def checkin_body(cadre_id: str) -> bytes:
    return json.dumps(
        {
            "client_id": str(uuid.uuid4()),
            "cadre_id": cadre_id,
            "region_code": REGION_CODE,
            "kind": "checkin",
            "latitude": 28.61,
            "longitude": 104.72,
            "accuracy_m": 12.5,
            "client_time": "2025-06-01T08:30:00+08:00",
        }
    ).encode()


class Crowd:
    """The cadres of `--cadres FILE` and their tokens, handed out round robin: each `next()`
    is the next cadre's check-in body and headers."""

    def __init__(self, path: Path) -> None:
        pairs = []
        for line in path.read_text().splitlines():
            if line.strip():
                cadre, token = line.split()
                headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
                pairs.append((cadre, headers))
        if not pairs:
            raise SystemExit(f"no cadres in {path}")
        self.size = len(pairs)
        self._cycle = itertools.cycle(pairs)

    def next(self) -> tuple[bytes, dict[str, str]]:
        cadre, headers = next(self._cycle)
        return checkin_body(cadre), headers


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of unsorted values; None if there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Tally:
    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0

    async def one(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        request_of: Callable[[], tuple[bytes, dict[str, str]]] | None,
    ) -> None:
        started = time.perf_counter()
        try:
            data, headers = request_of() if request_of else (None, None)
            async with session.request(method, url, data=data, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            self.errors += 1
            return
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def result(self, elapsed: float, **extra: object) -> dict[str, object]:
        done = len(self.latencies_ms)
        return {
            "requests": done,
            "seconds": round(elapsed, 3),
            "rps": round(done / elapsed, 1) if elapsed > 0 else 0.0,
            "non_2xx": sum(n for s, n in self.statuses.items() if not 200 <= s < 300),
            "statuses": {str(s): n for s, n in sorted(self.statuses.items())},
            "errors": self.errors,
            "latency_p50_ms": _round(percentile(self.latencies_ms, 50)),
            "latency_p99_ms": _round(percentile(self.latencies_ms, 99)),
            **extra,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _session(connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=60),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def closed(args: argparse.Namespace) -> dict[str, object]:
    tally = Tally()
    crowd = _crowd(args) if args.method == "POST" else None
    request_of = crowd.next if crowd else None
    async with _session(args.connections) as session:
        started = time.perf_counter()
        deadline = started + args.duration

        async def worker() -> None:
            while time.perf_counter() < deadline:
                await tally.one(session, args.method, args.url, request_of)

        await asyncio.gather(*(worker() for _ in range(args.connections)))
        elapsed = time.perf_counter() - started
    crowd_size = {"cadres": crowd.size} if crowd else {}
    return tally.result(elapsed, connections=args.connections, **crowd_size)


async def paced(args: argparse.Namespace) -> dict[str, object]:
    tally = Tally()
    crowd = _crowd(args)
    total = int(args.rate * args.duration)
    tasks: set[asyncio.Task[None]] = set()
    late = 0
    async with _session(args.connections) as session:
        started = time.perf_counter()
        for i in range(total):
            due = started + i / args.rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.01:
                late += 1  # the generator itself fell behind by more than 10 ms
            task = asyncio.create_task(tally.one(session, "POST", args.url, crowd.next))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent_for = time.perf_counter() - started
        if tasks:
            await asyncio.wait(tasks, timeout=30)
        elapsed = time.perf_counter() - started
    return tally.result(
        elapsed,
        sent=total,
        offered_rps=round(total / sent_for, 1),
        late_sends=late,
        cadres=crowd.size,
    )


def _crowd(args: argparse.Namespace) -> Crowd:
    if args.cadres is None:
        raise SystemExit("a POST load needs --cadres FILE")
    return Crowd(args.cadres)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["closed", "paced"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="POST", choices=["GET", "POST"])
    parser.add_argument(
        "--cadres",
        type=Path,
        help="POST: the crowd that checks in, one `cadre_id token` a line; each request is the "
        "next cadre's, round robin, with their own token",
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=12.0)
    parser.add_argument("--rate", type=float, default=200.0, help="paced: requests per second")
    args = parser.parse_args()
    coroutine = closed(args) if args.mode == "closed" else paced(args)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(coroutine)
    else:
        result = uvloop.run(coroutine)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
