"""The gateway's hop: routing, request ids, streaming, and 502/504 when a service fails."""

import asyncio
import contextlib

from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from services.attendance.app import create_app as attendance_app
from services.attendance.settings import AttendanceSettings
from services.common.devservers import free_port
from services.common.testing import FAST_SETTINGS, count_rows, listening, serving
from tests.attendance.factories import as_cadre, checkin_body, png_photo, upload_photo

MIB = 1024 * 1024


@contextlib.asynccontextmanager
async def silent_service():
    """Accepts connections, reads the request, never answers: a service that hangs."""
    hung: list[asyncio.StreamWriter] = []

    async def hang(reader, writer):
        hung.append(writer)
        await reader.read(65536)

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in hung:
            writer.close()
        server.close()


def gateway_settings(gateway_db, nats_url, **urls) -> GatewaySettings:
    return GatewaySettings(
        database_url=gateway_db,
        nats_url=nats_url,
        upstream_timeout_seconds=0.5,
        **urls,
        **FAST_SETTINGS,
    )


async def test_the_gateway_routes_to_the_service_and_keeps_the_request_id(
    attendance_db, gateway_db, nats_url, issuer
):
    settings = AttendanceSettings(
        database_url=attendance_db, nats_url=nats_url, auth_jwks_url=issuer.url, **FAST_SETTINGS
    )
    async with listening(attendance_app(settings)) as attendance_url:
        app = gateway_app(gateway_settings(gateway_db, nats_url, attendance_url=attendance_url))
        async with serving(app) as gateway:
            body = checkin_body()
            created = await gateway.post(
                "/api/v1/attendance/checkins",
                json=body,
                headers={"X-Request-ID": "req-from-the-phone", **as_cadre(issuer, body)},
            )
            malformed = await gateway.post(
                "/api/v1/attendance/checkins",
                content=b"{oops",
                headers={"X-Request-ID": "req-2", "content-type": "application/json"},
            )
            listed = await gateway.get(
                "/api/v1/attendance/checkins",
                params={"limit": 1},
                headers=issuer.headers("county_admin"),
            )

    assert created.status_code == 201
    assert created.headers["x-request-id"] == "req-from-the-phone"
    assert created.headers["location"].startswith("/api/v1/attendance/checkins/")
    assert malformed.status_code == 400
    assert malformed.json()["request_id"] == "req-2"  # the service saw the gateway's id
    assert [c["id"] for c in listed.json()["items"]] == [created.json()["id"]]
    assert await count_rows(attendance_db, "checkin") == 1


async def test_a_service_that_is_down_is_a_502_problem(gateway_db, nats_url):
    closed = f"http://127.0.0.1:{free_port()}"
    app = gateway_app(gateway_settings(gateway_db, nats_url, attendance_url=closed))
    async with serving(app) as gateway:
        response = await gateway.post("/api/v1/attendance/checkins", json=checkin_body())
        ready = await gateway.get("/readyz")

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "upstream_unavailable"
    assert ready.status_code == 503
    assert "attendance=not ready" in ready.json()["detail"]


async def test_a_service_that_is_too_slow_is_a_504_problem(gateway_db, nats_url):
    async with silent_service() as hanging:
        app = gateway_app(gateway_settings(gateway_db, nats_url, notify_url=hanging))
        async with serving(app) as gateway:
            response = await gateway.get("/api/v1/notify/messages")

    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "upstream_timeout"


async def test_the_gateway_answers_its_own_routes_itself(gateway_db, nats_url):
    app = gateway_app(gateway_settings(gateway_db, nats_url))
    async with serving(app) as gateway:
        health = await gateway.get("/healthz")
        unknown = await gateway.get("/api/v1/nowhere")

    assert health.json() == {"status": "ok", "checks": {}}
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"


async def test_a_photo_larger_than_a_json_body_passes_the_gateway_to_the_service(
    attendance_db, gateway_db, nats_url, issuer
):
    settings = AttendanceSettings(
        database_url=attendance_db, nats_url=nats_url, auth_jwks_url=issuer.url, **FAST_SETTINGS
    )
    async with listening(attendance_app(settings)) as attendance_url:
        app = gateway_app(gateway_settings(gateway_db, nats_url, attendance_url=attendance_url))
        async with serving(app) as gateway:
            headers = issuer.headers("county_admin")
            taken = await upload_photo(
                gateway, png_photo(padding=2 * MIB), "image/png", headers=headers
            )
            too_large = await upload_photo(
                gateway, png_photo(padding=6 * MIB), "image/png", headers=headers
            )

    assert taken.status_code == 201, taken.text
    assert (too_large.status_code, too_large.json()["code"]) == (413, "photo_too_large")
    assert await count_rows(attendance_db, "photo") == 1
