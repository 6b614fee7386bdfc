"""API keys for integrations: created by a county admin within their scope, shown once, stored
as a digest, exchanged at the gateway for a short-lived internal token, revocable."""

import asyncio
import re
import uuid

import httpx
import jwt
import pytest
from fastapi import APIRouter, FastAPI, Request

from gateway.app import create_app as gateway_app
from gateway.identity import service
from gateway.identity.schemas import ApiKeyCreate
from gateway.settings import GatewaySettings
from services.attendance.settings import AttendanceSettings
from services.common.auth import Caller, require
from services.common.db import Database
from services.common.errors import Forbidden
from services.common.kernel import create_service_app
from services.common.permissions import Permission
from services.common.testing import FAST_SETTINGS, count_rows, eventually, listening, serving
from tests.gateway.factories import make_user, signed_in

RECHECK_SECONDS = 0.3
KEYS = "/api/v1/identity/api-keys"


def settings_of(gateway_db, nats_url, **overrides) -> GatewaySettings:
    return GatewaySettings(
        database_url=gateway_db,
        nats_url=nats_url,
        api_key_recheck_seconds=RECHECK_SECONDS,
        **overrides,
        **FAST_SETTINGS,
    )


@pytest.fixture
def settings(gateway_db, nats_url):
    return settings_of(gateway_db, nats_url)


@pytest.fixture
async def gateway(settings):
    async with serving(gateway_app(settings)) as client:
        yield client


@pytest.fixture
async def admin(settings, gateway):
    """The headers of a county admin of the demo county, 511529."""
    await make_user(settings)
    return await signed_in(gateway)


async def create_key(gateway, admin, **body):
    body = {"name": "防返贫监测系统", "region_code": "511529000000", **body}
    return await gateway.post(KEYS, json=body, headers=admin)


async def test_a_key_is_shown_once_works_records_its_use_and_stops_when_revoked(
    gateway, admin, gateway_db
):
    created = await create_key(gateway, admin)
    key = created.json()
    secret = key["secret"]

    regions = await gateway.get("/api/v1/regions", headers={"X-API-Key": secret})
    as_scheme = await gateway.get("/api/v1/auth/me", headers={"Authorization": f"ApiKey {secret}"})
    shown = await gateway.get(f"{KEYS}/{key['id']}", headers=admin)
    listed = await gateway.get(KEYS, headers=admin)
    revoked = await gateway.post(f"{KEYS}/{key['id']}/revoke", headers=admin)

    assert created.status_code == 201
    assert created.headers["location"] == f"{KEYS}/{key['id']}"
    assert re.fullmatch(rf"{key['prefix']}_[A-Za-z0-9_-]{{43}}", secret)
    assert key["permissions"] == [
        "attendance.checkin.read",
        "attendance.days.read",
        "attendance.leave.read",
        "attendance.roster.read",
        "gateway.region.read",
    ]
    assert regions.status_code == 200
    assert as_scheme.json() == {
        "user_id": key["id"],
        "roles": ["integration"],
        "scope": "511529",
    }
    assert shown.json()["last_used_at"] is not None
    assert [k["id"] for k in listed.json()["items"]] == [key["id"]]
    for answer in (shown, listed, revoked):
        assert secret not in answer.text and "secret" not in answer.json()
    assert await count_rows(gateway_db, "api_key t", "strpos(t::text, $1) > 0", secret) == 0
    assert revoked.json()["revoked_at"] is not None

    refused = await eventually(
        lambda: gateway.get("/api/v1/regions", headers={"X-API-Key": secret}),
        lambda r: r.status_code != 200,
        within=RECHECK_SECONDS + 2,
    )
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_api_key")
    assert refused.headers["content-type"] == "application/problem+json"
    assert await count_rows(gateway_db, "audit_entry", "action = 'api_key.created'") == 1
    assert await count_rows(gateway_db, "audit_entry", "action = 'api_key.revoked'") == 1


async def test_an_unknown_key_is_401(gateway):
    response = await gateway.get("/api/v1/regions", headers={"X-API-Key": "zk_0000_nothing"})

    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


async def test_a_busy_key_records_its_use_at_most_once_a_minute(gateway, admin, gateway_db):
    key = (await create_key(gateway, admin)).json()
    await gateway.get("/api/v1/regions", headers={"X-API-Key": key["secret"]})
    first = (await gateway.get(f"{KEYS}/{key['id']}", headers=admin)).json()["last_used_at"]

    for _ in range(3):  # past the recheck window, so the gateway asks the database again
        await asyncio.sleep(RECHECK_SECONDS)
        await gateway.get("/api/v1/regions", headers={"X-API-Key": key["secret"]})
    again = (await gateway.get(f"{KEYS}/{key['id']}", headers=admin)).json()["last_used_at"]

    assert first is not None and again == first


async def test_keys_of_another_county_are_not_there(gateway, admin, settings):
    await make_user(settings, "wu.gang", region_code="511502000000")  # 翠屏区, another county
    other_admin = await signed_in(gateway, "wu.gang")
    other = (await create_key(gateway, other_admin, region_code="511502000000")).json()

    seen = await gateway.get(f"{KEYS}/{other['id']}", headers=admin)
    revoked = await gateway.post(f"{KEYS}/{other['id']}/revoke", headers=admin)
    listed = await gateway.get(KEYS, headers=admin)

    assert (seen.status_code, seen.json()["code"]) == (404, "api_key_not_found")
    assert revoked.status_code == 404
    assert listed.json()["items"] == []


async def test_a_key_for_a_region_outside_the_admins_scope_is_403(gateway, admin, gateway_db):
    response = await create_key(gateway, admin, region_code="511502000000")

    assert (response.status_code, response.json()["code"]) == (403, "outside_scope")
    assert await count_rows(gateway_db, "api_key") == 0


async def test_a_key_gets_only_the_integration_roles_permissions(gateway, admin):
    beyond = await create_key(gateway, admin, permissions=["gateway.user.manage"])
    unknown = await create_key(gateway, admin, permissions=["everything"])

    assert (beyond.status_code, beyond.json()["code"]) == (422, "permission_outside_role")
    assert beyond.json()["errors"][0]["field"] == "permissions"
    assert (unknown.status_code, unknown.json()["code"]) == (422, "validation_failed")


async def test_a_key_narrower_than_its_role_is_refused_what_it_lacks(gateway, admin):
    key = (await create_key(gateway, admin, permissions=["attendance.checkin.read"])).json()

    response = await gateway.get("/api/v1/regions", headers={"X-API-Key": key["secret"]})

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


async def test_a_service_behind_the_gateway_sees_the_internal_token_and_accepts_it(
    gateway_db, nats_url, attendance_db
):
    """The hop: the key goes no further than the gateway; the service gets a bearer token it
    verifies with the gateway's JWKS, naming the key, its region and its permissions."""
    seen: list[str] = []
    upstream = FastAPI()

    @upstream.get("/api/v1/attendance/echo")
    async def echo(request: Request) -> dict:
        seen.append(request.headers.get("x-api-key", ""))
        return {"authorization": request.headers["authorization"]}

    async with listening(upstream) as upstream_url:
        settings = settings_of(gateway_db, nats_url, attendance_url=upstream_url)
        async with (
            listening(gateway_app(settings)) as gateway_url,
            httpx.AsyncClient(base_url=gateway_url) as gateway,
        ):
            await make_user(settings)
            key = (await create_key(gateway, await signed_in(gateway))).json()
            hop = await gateway.get("/api/v1/attendance/echo", headers={"X-API-Key": key["secret"]})
            forwarded = hop.json()["authorization"]
            jwks = f"{gateway_url}/api/v1/auth/jwks"
            async with serving(service_trusting(jwks, attendance_db, nats_url)) as service:
                whoami = await service.get(
                    "/api/v1/attendance/whoami", headers={"Authorization": forwarded}
                )

    assert seen == [""]  # the secret itself never reaches a service
    claims = jwt.decode(forwarded.removeprefix("Bearer "), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 5 * 60
    assert whoami.json() == {
        "user_id": key["id"],
        "kind": "api_key",
        "scope": "511529",
        "permissions": [
            "attendance.checkin.read",
            "attendance.days.read",
            "attendance.leave.read",
            "attendance.roster.read",
            "gateway.region.read",
        ],
    }


def service_trusting(jwks_url: str, attendance_db: str, nats_url: str) -> FastAPI:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(caller: Caller = require(Permission.CHECKIN_READ)) -> dict:
        return {
            "user_id": str(caller.user_id),
            "kind": caller.kind,
            "scope": caller.scope,
            "permissions": sorted(caller.permissions),
        }

    settings = AttendanceSettings(
        database_url=attendance_db, nats_url=nats_url, auth_jwks_url=jwks_url, **FAST_SETTINGS
    )
    return create_service_app(settings, title="t", description="t", routers=[router])


async def test_a_key_never_carries_a_permission_its_creator_lacks(settings, gateway):
    """A rule for roles yet to come: today only county_admin makes keys, holding all."""
    reader = Caller(
        user_id=uuid.uuid4(),
        roles=("viewer",),
        scope="511529",
        permissions=frozenset({Permission.REGION_READ, Permission.API_KEY_MANAGE}),
    )
    wanted = ApiKeyCreate(
        name="x", region_code="511529000000", permissions=["attendance.checkin.read"]
    )
    db = Database(settings.database_url, pool_size=1)
    try:
        with pytest.raises(Forbidden) as refused:
            async with db.transaction() as session:
                await service.create_api_key(session, wanted, reader)
    finally:
        await db.dispose()

    assert refused.value.code == "permission_not_grantable"
    assert await count_rows(settings.database_url, "api_key") == 0
