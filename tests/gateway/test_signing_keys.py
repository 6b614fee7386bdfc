"""Rotating the key that signs access tokens, through the route: nobody is logged out."""

from datetime import timedelta

import jwt
import pytest

from gateway.app import create_app as gateway_app
from gateway.identity import tokens
from gateway.settings import GatewaySettings
from services.common.sensitive import SensitiveData, new_key
from services.common.testing import FAST_SETTINGS, count_rows, eventually, serving
from tests.gateway.factories import make_user, sign_in, signed_in, transaction

ROTATE = "/api/v1/identity/signing-keys/rotate"


AHEAD_SECONDS = 1.5  # longer than the JWKS route keeps what it read (1 s)


@pytest.fixture
async def gateway(gateway_db, nats_url):
    settings = GatewaySettings(
        database_url=gateway_db,
        nats_url=nats_url,
        signing_key_published_ahead_seconds=AHEAD_SECONDS,
        **FAST_SETTINGS,
    )
    async with serving(gateway_app(settings)) as client:
        await make_user(settings)
        await make_user(settings, "li.ming", region_code="511529100201", roles=("first_secretary",))
        yield client


def kid_of(headers: dict[str, str]) -> str:
    return jwt.get_unverified_header(headers["Authorization"].removeprefix("Bearer "))["kid"]


async def test_a_new_key_is_published_before_it_signs_and_nobody_is_logged_out(gateway, gateway_db):
    admin = await signed_in(gateway)

    rotated = await gateway.post(ROTATE, headers=admin)
    new_kid = rotated.json()["kid"]
    published = [k["kid"] for k in (await gateway.get("/api/v1/auth/jwks")).json()["keys"]]
    meanwhile = await signed_in(gateway)
    # Once the new key signs, a token it signed is accepted at its very first use.
    after = await eventually(lambda: signed_in(gateway), lambda h: kid_of(h) == new_kid, within=10)
    first_use = await gateway.get("/api/v1/auth/me", headers=after)
    old_still = await gateway.get("/api/v1/auth/me", headers=admin)

    assert rotated.status_code == 200
    assert new_kid in published and kid_of(admin) in published
    assert kid_of(meanwhile) == kid_of(admin) != new_kid  # the old key signs until the switch
    assert first_use.status_code == 200
    assert old_still.status_code == 200
    assert await count_rows(gateway_db, "audit_entry", "action = 'signing_key.rotated'") == 1


async def test_only_operations_may_rotate(gateway):
    response = await gateway.post(ROTATE, headers=await signed_in(gateway, "li.ming"))

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


async def test_a_signing_key_no_data_key_opens_makes_sign_in_503_not_500(gateway, gateway_db):
    async with transaction(gateway_db) as session:
        await tokens.rotate(session, SensitiveData([new_key()], new_key()), ahead=timedelta(0))

    response = await sign_in(gateway, login="zhang.wei")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "sensitive_data_unreadable"
