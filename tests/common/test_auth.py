"""Services verify the gateway's tokens themselves, check the route's permission, and see only
the caller's region."""

import asyncio
from datetime import timedelta
from uuid import uuid4

import httpx
import jwt
import pytest
from fastapi import APIRouter
from sqlmodel import select

from gateway.app import create_app as gateway_app
from gateway.identity import service, tokens
from gateway.identity.schemas import UserCreate
from gateway.settings import GatewaySettings
from services.attendance.models import Checkin
from services.attendance.settings import AttendanceSettings
from services.common.auth import Caller, check_writable, require, scoped
from services.common.db import Database
from services.common.errors import Forbidden
from services.common.kernel import create_service_app
from services.common.permissions import Permission, permissions_of
from services.common.sensitive import SensitiveData
from services.common.testing import FAST_SETTINGS, eventually, listening, serving
from tests.attendance.factories import checkin_body, post_checkin
from tests.gateway.factories import PASSWORD


@pytest.fixture
async def gateway(database, nats_url):
    """The gateway over real HTTP, with a first secretary and a viewer, and its settings."""
    settings = GatewaySettings(database_url=await database("gateway"), nats_url=nats_url)
    async with listening(gateway_app(settings)) as url:
        db = Database(settings.database_url, pool_size=1)
        vault = SensitiveData(settings.data_keys, settings.hash_key)
        async with db.transaction() as session:
            for login, role in (("li.ming", "first_secretary"), ("wang.fang", "viewer")):
                await service.create_user(
                    session,
                    UserCreate(
                        login=login,
                        display_name=login,
                        region_code="511529100201",
                        roles=[role],
                        password=PASSWORD,
                    ),
                    vault,
                )
        yield url, db, vault
        await db.dispose()


@pytest.fixture
async def protected(gateway, attendance_db, nats_url):
    """A service app whose routes declare permissions, verifying with the gateway's JWKS."""
    url, _, _ = gateway
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(caller: Caller = require(Permission.CHECKIN_READ)) -> dict:
        return {"user_id": str(caller.user_id), "scope": caller.scope}

    @router.post("/users")
    async def manage(caller: Caller = require(Permission.USER_MANAGE)) -> dict:
        return {}

    settings = AttendanceSettings(
        database_url=attendance_db,
        nats_url=nats_url,
        auth_jwks_url=f"{url}/api/v1/auth/jwks",
        **FAST_SETTINGS,
    )
    app = create_service_app(settings, title="t", description="t", routers=[router])
    async with serving(app) as client:
        yield client


@pytest.fixture
def protected_by(attendance_db, nats_url):
    """A service trusting `issuer`'s keys, fresh (no keys fetched yet)."""

    def build(issuer):
        router = APIRouter()

        @router.get("/whoami")
        async def whoami(caller: Caller = require(Permission.CHECKIN_READ)) -> dict:
            return {"scope": caller.scope}

        settings = AttendanceSettings(
            database_url=attendance_db,
            nats_url=nats_url,
            auth_jwks_url=issuer.url,
            **FAST_SETTINGS,
        )
        return serving(create_service_app(settings, title="t", description="t", routers=[router]))

    return build


async def token_of(gateway, login: str) -> str:
    url, _, _ = gateway
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/api/v1/auth/token", data={"username": login, "password": PASSWORD}
        )
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_token_names_the_caller_and_their_village(gateway, protected):
    response = await protected.get(
        "/api/v1/attendance/whoami", headers=bearer(await token_of(gateway, "li.ming"))
    )

    assert response.status_code == 200
    assert response.json()["scope"] == "511529100201"


async def test_no_token_or_a_bad_one_is_401(protected):
    missing = await protected.get("/api/v1/attendance/whoami")
    garbage = await protected.get("/api/v1/attendance/whoami", headers=bearer("not.a.jwt"))

    assert (missing.status_code, missing.json()["code"]) == (401, "unauthenticated")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert (garbage.status_code, garbage.json()["code"]) == (401, "invalid_token")


async def test_an_expired_token_is_401(gateway, protected):
    _, db, vault = gateway
    async with db.transaction() as session:
        kid, key = await tokens.current_key(session, vault)
    expired = tokens.sign(
        kid,
        key,
        subject=uuid4(),
        roles=["county_admin"],
        region_code="511529000000",
        ttl=timedelta(seconds=-1),
    )

    response = await protected.get("/api/v1/attendance/whoami", headers=bearer(expired))

    assert (response.status_code, response.json()["code"]) == (401, "token_expired")


async def test_a_role_without_the_permission_is_403(gateway, protected):
    viewer = await token_of(gateway, "wang.fang")

    allowed = await protected.get("/api/v1/attendance/whoami", headers=bearer(viewer))
    refused = await protected.post("/api/v1/attendance/users", headers=bearer(viewer))

    assert allowed.status_code == 200
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")


async def test_a_token_of_a_rotated_in_key_verifies_at_once_and_old_ones_still_do(
    gateway, protected
):
    before = await token_of(gateway, "li.ming")
    assert (await protected.get("/api/v1/attendance/whoami", headers=bearer(before))).is_success
    _, db, vault = gateway
    async with db.transaction() as session:
        key = await tokens.rotate(session, vault, ahead=timedelta(seconds=1.5))

    after = await eventually(
        lambda: token_of(gateway, "li.ming"),
        lambda t: jwt.get_unverified_header(t)["kid"] == key.kid,
    )
    old = await protected.get("/api/v1/attendance/whoami", headers=bearer(before))
    new = await protected.get("/api/v1/attendance/whoami", headers=bearer(after))

    assert (old.status_code, new.status_code) == (200, 200)


async def test_scoped_queries_see_only_the_callers_region(attendance, attendance_db, issuer):
    for village in ("511529100201", "511529100202", "511529101201"):
        await post_checkin(attendance, issuer, checkin_body(region_code=village))
    township = Caller(
        user_id=uuid4(),
        roles=("township_officer",),
        scope="511529100",
        permissions=permissions_of(["township_officer"]),
    )
    db = Database(attendance_db, pool_size=1)
    async with db.transaction() as session:
        seen = (
            await session.execute(scoped(select(Checkin), Checkin.region_code, township))
        ).scalars()
        codes = sorted(c.region_code for c in seen)
    await db.dispose()

    assert codes == ["511529100201", "511529100202"]
    check_writable(township, "511529100203")
    with pytest.raises(Forbidden):
        check_writable(township, "511529101201")


def test_roles_unknown_to_the_table_grant_nothing():
    assert permissions_of(["superuser", "root"]) == frozenset()
    assert Permission.USER_MANAGE not in permissions_of(["first_secretary", "viewer"])
    assert Permission.USER_MANAGE in permissions_of(["county_admin"])


async def test_requests_that_arrive_during_the_first_key_fetch_wait_for_it(issuer, protected_by):
    client = protected_by(issuer)
    async with client as service:
        token = issuer.headers("first_secretary")
        responses = await asyncio.gather(
            *(service.get("/api/v1/attendance/whoami", headers=token) for _ in range(20))
        )

    assert [r.status_code for r in responses] == [200] * 20


async def test_a_remembered_token_still_expires(issuer, protected_by):
    async with protected_by(issuer) as service:
        # Made once the service is up (its start may take over a second on a busy machine).
        headers = issuer.headers("first_secretary", ttl_seconds=2)
        fresh = await service.get("/api/v1/attendance/whoami", headers=headers)
        again = await service.get("/api/v1/attendance/whoami", headers=headers)
        await asyncio.sleep(2.5)
        stale = await service.get("/api/v1/attendance/whoami", headers=headers)

    assert (fresh.status_code, again.status_code) == (200, 200)
    assert (stale.status_code, stale.json()["code"]) == (401, "token_expired")


async def test_an_api_keys_token_grants_only_what_both_its_role_and_its_key_allow(
    gateway, protected
):
    _, db, vault = gateway
    async with db.transaction() as session:
        kid, key = await tokens.current_key(session, vault)

    def key_token(*permissions: str) -> dict[str, str]:
        token = tokens.sign(
            kid,
            key,
            subject=uuid4(),
            roles=["integration"],
            region_code="511529000000",
            ttl=timedelta(minutes=5),
            permissions=list(permissions),
        )
        return bearer(token)

    narrow = key_token("gateway.region.read")
    # user.manage is the key's claim, but not its role's: the role still bounds it.
    wide = key_token("attendance.checkin.read", "gateway.user.manage")

    lacking = await protected.get("/api/v1/attendance/whoami", headers=narrow)
    allowed = await protected.get("/api/v1/attendance/whoami", headers=wide)
    beyond_role = await protected.post("/api/v1/attendance/users", headers=wide)

    assert (lacking.status_code, lacking.json()["code"]) == (403, "permission_denied")
    assert allowed.status_code == 200
    assert (beyond_role.status_code, beyond_role.json()["code"]) == (403, "permission_denied")


async def test_an_unusable_key_in_the_jwks_is_skipped_and_the_others_still_verify(
    issuer, protected_by
):
    issuer.jwks["keys"].insert(0, {"kid": "broken", "kty": "OKP", "crv": "nonsense"})
    async with protected_by(issuer) as service:
        response = await service.get(
            "/api/v1/attendance/whoami", headers=issuer.headers("first_secretary")
        )

    assert response.status_code == 200
