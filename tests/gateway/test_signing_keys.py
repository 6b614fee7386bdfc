"""Rotating the key that signs access tokens, through the route: nobody is logged out."""

import jwt
import pytest

from gateway.app import create_app as gateway_app
from gateway.identity import tokens
from gateway.settings import GatewaySettings
from services.common.sensitive import SensitiveData, new_key
from services.common.testing import FAST_SETTINGS, count_rows, eventually, serving
from tests.gateway.factories import make_user, sign_in, signed_in, transaction

ROTATE = "/api/v1/identity/signing-keys/rotate"


@pytest.fixture
async def gateway(gateway_db, nats_url):
    settings = GatewaySettings(database_url=gateway_db, nats_url=nats_url, **FAST_SETTINGS)
    async with serving(gateway_app(settings)) as client:
        await make_user(settings)
        await make_user(settings, "li.ming", region_code="511529100201", roles=("first_secretary",))
        yield client


def kid_of(headers: dict[str, str]) -> str:
    return jwt.get_unverified_header(headers["Authorization"].removeprefix("Bearer "))["kid"]


async def test_rotating_the_signing_key_logs_nobody_out(gateway, gateway_db):
    admin = await signed_in(gateway)
    before = await gateway.get("/api/v1/auth/me", headers=admin)

    rotated = await gateway.post(ROTATE, headers=admin)
    after = await signed_in(gateway)
    old_still = await gateway.get("/api/v1/auth/me", headers=admin)
    # The gateway learns the new key on its next look at the keys (at most every 0.2 s here).
    new_works = await eventually(
        lambda: gateway.get("/api/v1/auth/me", headers=after), lambda r: r.status_code == 200
    )

    assert before.status_code == 200
    assert rotated.status_code == 200
    assert kid_of(after) == rotated.json()["kid"] != kid_of(admin)
    assert old_still.status_code == 200
    assert new_works.json()["user_id"] == before.json()["user_id"]
    assert await count_rows(gateway_db, "audit_entry", "action = 'signing_key.rotated'") == 1


async def test_only_operations_may_rotate(gateway):
    response = await gateway.post(ROTATE, headers=await signed_in(gateway, "li.ming"))

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


async def test_a_signing_key_no_data_key_opens_makes_sign_in_503_not_500(gateway, gateway_db):
    async with transaction(gateway_db) as session:
        await tokens.rotate(session, SensitiveData([new_key()], new_key()))

    response = await sign_in(gateway, login="zhang.wei")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "sensitive_data_unreadable"
