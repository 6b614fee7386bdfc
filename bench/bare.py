"""The bare apps the real services are measured against, outside the services.

(a) `GET /hello`: a bare FastAPI hello endpoint.
(e) `POST /checkins`: the physical floor of a check-in: the same `checkin`, `audit_entry` and
    `outbox` rows the attendance service writes, in one transaction, with raw asyncpg and nothing
    else (no ORM, no middleware, no pydantic models, no request id, no log line).

Served the way `zhucun.cli serve` serves every service: uvicorn[standard] with uvloop and
httptools, one worker, no access log. `BENCH_DATABASE_URL` names attendance's database; without it
only `/hello` is up. `python -m bench.bare --port P`.
"""

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import orjson
from fastapi import FastAPI, Request, Response
from uuid_utils.compat import uuid7

# The pool the service gets from its settings: a fixed db_pool_size=20, no overflow.
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "20"))
EVENT_TYPE = "attendance.checkin.recorded"

# The statements the service sends (services/attendance/service.py, services/common/events.py).
# What the check-in is judged against: the village's areas, the cadre's previous check-in,
# the county's thresholds, the photo (the bench's check-ins name none, as most do not).
JUDGING = (
    "SELECT (SELECT coalesce(json_agg(geometry), '[]'::json) FROM checkin_area "
    "WHERE region_code = $1 AND retired_at IS NULL), "
    "(SELECT json_build_array(wgs84_latitude, wgs84_longitude, client_time) FROM checkin "
    "WHERE cadre_id = $2 AND client_time < $3 ORDER BY client_time DESC LIMIT 1), "
    "(SELECT json_build_array(max_travel_kmh, max_clock_ahead_minutes) FROM attendance_rule "
    "WHERE region_code = left($1, 6) || '000000'), "
    "EXISTS (SELECT 1 FROM photo WHERE sha256 = $4 AND starts_with(region_code, $5)), "
    "EXISTS (SELECT 1 FROM checkin WHERE photo_sha256 = $4)"
)
# The check-in's day in the village (the read model) and its audit entry (审计) are folded
# into the check-in's statement, as the service folds them.
INSERT_CHECKIN = (
    "WITH stored AS (INSERT INTO checkin (id, client_id, cadre_id, region_code, kind, latitude, "
    "longitude, wgs84_latitude, wgs84_longitude, accuracy_m, client_time, recorded_at, flags) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $7, $8, $9, $10, '{no_area}') "
    "ON CONFLICT (client_id) DO NOTHING RETURNING id, cadre_id, region_code, client_time), "
    "counted AS (INSERT INTO cadre_day (cadre_id, day, region_code, present_checkins, "
    "flagged_checkins) SELECT cadre_id, (client_time AT TIME ZONE 'Asia/Shanghai')::date, "
    "region_code, 1, 0 FROM stored ON CONFLICT (cadre_id, day) DO UPDATE SET "
    "present_checkins = cadre_day.present_checkins + excluded.present_checkins, "
    "flagged_checkins = cadre_day.flagged_checkins + excluded.flagged_checkins) "
    "INSERT INTO audit_entry (id, at, action, user_id, source, route, target, region_code) "
    "SELECT $11, $10, 'attendance.checkin.recorded', $3, $12, 'POST /checkins', id::text, "
    "region_code FROM stored"
)
INSERT_OUTBOX = "INSERT INTO outbox (id, type, payload) VALUES ($1, $2, $3)"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def create_app() -> FastAPI:
    url = os.environ.get("BENCH_DATABASE_URL")
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if url:
            state["pool"] = await asyncpg.create_pool(url, min_size=POOL_SIZE, max_size=POOL_SIZE)
        try:
            yield
        finally:
            if "pool" in state:
                await state["pool"].close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.post("/checkins", status_code=201)
    async def checkin(request: Request) -> Response:
        body = orjson.loads(await request.body())
        checkin_id = uuid7()
        event_id = uuid7()
        recorded_at = datetime.now(UTC)
        client_time = datetime.fromisoformat(body["client_time"])
        row = {
            "id": str(checkin_id),
            "client_id": body["client_id"],
            "cadre_id": body["cadre_id"],
            "region_code": body["region_code"],
            "kind": body.get("kind", "checkin"),
            "latitude": body["latitude"],
            "longitude": body["longitude"],
            "accuracy_m": body.get("accuracy_m"),
            "client_time": _iso(client_time.astimezone(UTC)),
            "recorded_at": _iso(recorded_at),
        }
        # The CloudEvents envelope the service's emit() writes, field for field.
        payload = orjson.dumps(
            {
                "specversion": "1.0",
                "id": str(event_id),
                "source": "/zhucun/attendance",
                "type": EVENT_TYPE,
                "time": _iso(datetime.now(UTC)),
                "subject": row["id"],
                "datacontenttype": "application/json",
                "dataschema": f"urn:zhucun:event:{EVENT_TYPE}:v1",
                "regioncode": row["region_code"],
                "correlationid": None,
                "causationid": None,
                "data": {
                    "checkin_id": row["id"],
                    "cadre_id": row["cadre_id"],
                    "region_code": row["region_code"],
                    "kind": row["kind"],
                    "client_time": row["client_time"],
                    "recorded_at": row["recorded_at"],
                    "inside": None,
                    "flags": ["no_area"],
                },
            }
        )
        async with state["pool"].acquire() as conn, conn.transaction():
            await conn.fetchrow(
                JUDGING, row["region_code"], body["cadre_id"], client_time, None, row["region_code"]
            )
            await conn.execute(
                INSERT_CHECKIN,
                checkin_id,
                body["client_id"],
                body["cadre_id"],
                row["region_code"],
                row["kind"],
                row["latitude"],
                row["longitude"],
                row["accuracy_m"],
                client_time,
                recorded_at,
                uuid7(),
                request.client.host if request.client else None,
            )
            await conn.execute(INSERT_OUTBOX, event_id, EVENT_TYPE, payload)
        return Response(orjson.dumps(row), status_code=201, media_type="application/json")

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The same settings as `zhucun.cli serve`.
    uvicorn.run(
        "bench.bare:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
