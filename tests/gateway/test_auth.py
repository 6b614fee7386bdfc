"""Signing in at the gateway: tokens, refresh rotation, lockout, keys, and what is kept."""

from datetime import timedelta

import asyncpg
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.app import create_app as gateway_app
from gateway.identity import service, tokens
from gateway.identity.schemas import UserCreate
from gateway.settings import GatewaySettings
from services.common.db import Database, plain_url
from services.common.sensitive import SensitiveData
from services.common.testing import FAST_SETTINGS, count_rows, serving
from tests.gateway.factories import PASSWORD, sign_in


@pytest.fixture
def settings(gateway_db, nats_url):
    return GatewaySettings(
        database_url=gateway_db, nats_url=nats_url, lockout_failures=3, **FAST_SETTINGS
    )


@pytest.fixture
async def gateway(settings):
    async with serving(gateway_app(settings)) as client:
        yield client


@pytest.fixture
async def secretary(settings, gateway):
    """第一书记 of one village (the gateway is up: its tables exist)."""
    db = Database(settings.database_url, pool_size=1)
    async with db.transaction() as session:
        user = await service.create_user(
            session,
            UserCreate(
                login="li.ming",
                display_name="李明",
                phone="+86 138-1234-5678",
                region_code="511529100201",
                roles=["first_secretary"],
                password=PASSWORD,
            ),
            SensitiveData(settings.data_keys, settings.hash_key),
        )
    await db.dispose()
    return user


async def verify(gateway, token: str) -> dict:
    keys = (await gateway.get("/api/v1/auth/jwks")).json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    [jwk] = [k for k in keys if k["kid"] == kid]
    return jwt.decode(
        token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"], audience="zhucun", issuer="zhucun-gateway"
    )


async def test_signing_in_gives_a_short_lived_token_for_the_users_village(gateway, secretary):
    response = await sign_in(gateway)

    assert response.status_code == 200
    pair = response.json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 15 * 60
    claims = await verify(gateway, pair["access_token"])
    assert claims["sub"] == str(secretary.id)
    assert claims["roles"] == ["first_secretary"]
    assert claims["scope"] == "511529100201"
    assert claims["exp"] - claims["iat"] == 15 * 60


async def test_a_wrong_password_or_login_is_the_same_401(gateway, secretary):
    wrong_password = await sign_in(gateway, password="not-the-password")
    unknown_login = await sign_in(gateway, login="nobody")

    for response in (wrong_password, unknown_login):
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"


async def test_too_many_failures_lock_the_account_and_every_step_is_audited(
    gateway, secretary, gateway_db
):
    for _ in range(3):
        await sign_in(gateway, password="guessing-again")
    locked = await sign_in(gateway)  # even the right password, while locked

    assert locked.status_code == 401
    assert locked.json()["code"] == "account_locked"
    assert 14 * 60 < int(locked.headers["retry-after"]) <= 15 * 60
    assert await count_rows(gateway_db, "login_failure") == 3
    assert await count_rows(gateway_db, "audit_entry", "action = 'auth.sign_in_failed'") == 3
    assert await count_rows(gateway_db, "audit_entry", "action = 'auth.account_locked'") == 1
    assert await count_rows(gateway_db, "audit_entry", "action = 'auth.sign_in_locked'") == 1
    # each names the user, their region (so their county admin sees it), where and which route
    assert (
        await count_rows(
            gateway_db,
            "audit_entry",
            "user_id = $1 AND region_code = '511529100201' AND source = '127.0.0.1' "
            "AND route = 'POST /api/v1/auth/token'",
            secretary.id,
        )
        == 5
    )


async def test_refresh_rotates_and_a_reused_token_revokes_the_whole_family(gateway, secretary):
    first = (await sign_in(gateway)).json()["refresh_token"]

    rotated = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": first})
    second = rotated.json()["refresh_token"]
    reused = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": first})
    after_theft = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": second})

    assert rotated.status_code == 200
    assert second != first
    assert (reused.status_code, reused.json()["code"]) == (401, "invalid_refresh_token")
    assert after_theft.status_code == 401  # the family is revoked, the thief's copy too


async def test_logout_revokes_the_sign_in(gateway, secretary, gateway_db):
    refresh = (await sign_in(gateway)).json()["refresh_token"]

    out = await gateway.post("/api/v1/auth/logout", json={"refresh_token": refresh})
    again = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": refresh})

    assert out.status_code == 204
    assert again.status_code == 401
    assert await count_rows(gateway_db, "audit_entry", "action = 'auth.signed_out'") == 1


async def test_a_token_signed_by_another_key_does_not_verify(gateway, secretary):
    genuine = (await sign_in(gateway)).json()["access_token"]
    kid = jwt.get_unverified_header(genuine)["kid"]

    forged = tokens.sign(
        kid,
        Ed25519PrivateKey.generate(),
        subject=secretary.id,
        roles=["county_admin"],
        region_code="510000000000",
        ttl=timedelta(minutes=5),
    )

    with pytest.raises(jwt.InvalidSignatureError):
        await verify(gateway, forged)


async def test_phones_are_not_stored_in_clear_and_the_audit_log_cannot_be_changed(
    gateway, secretary, gateway_db, settings
):
    await sign_in(gateway)
    conn = await asyncpg.connect(plain_url(gateway_db))
    try:
        dump = await conn.fetchval("SELECT string_agg(t::text, ' ') FROM user_account t")
        stored_hash = await conn.fetchval("SELECT phone_hash FROM user_account")
        for statement in ("UPDATE audit_entry SET action = 'x'", "DELETE FROM audit_entry"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the gateway's own role
                await conn.execute(statement)
    finally:
        await conn.close()

    assert "13812345678" not in dump and "1381234" not in dump
    assert stored_hash == SensitiveData(settings.data_keys, settings.hash_key).hash("13812345678")


@pytest.mark.parametrize(
    "password, reason",
    [("short1!", "at least"), ("li.ming-2026-x", "login name"), ("aaaaaaaaaaaa", "too simple")],
)
def test_the_password_policy(password, reason):
    with pytest.raises(ValueError, match=reason):
        UserCreate(
            login="li.ming",
            display_name="李明",
            region_code="511529100201",
            roles=["first_secretary"],
            password=password,
        )


async def test_what_an_unknown_sign_in_typed_is_never_kept(gateway, secretary, gateway_db):
    """Neither a number (a login never is one) nor a password typed into the login field."""
    with pytest.raises(ValueError, match="login"):
        UserCreate(
            login="13812345678",
            display_name="号码",
            region_code="511529100201",
            roles=["team_member"],
            password=PASSWORD,
        )
    number = await sign_in(gateway, login="13812345678")
    password = await sign_in(gateway, login="jinpingcun2026")

    assert (number.status_code, password.status_code) == (401, 401)
    failed = "action = 'auth.sign_in_failed'"
    assert await count_rows(gateway_db, "audit_entry", failed) == 2
    assert await count_rows(gateway_db, "audit_entry", f"{failed} AND actor IS NULL") == 2
