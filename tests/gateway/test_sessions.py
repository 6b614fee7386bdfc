"""An ended sign-in ends its access tokens at once: logout, deactivation, a stolen refresh
token's reuse; the user's other sign-ins go on."""

import pytest

from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from services.common.testing import FAST_SETTINGS, eventually, serving
from tests.gateway.factories import make_user, sign_in, signed_in

ME = "/api/v1/auth/me"


@pytest.fixture
async def gateway(gateway_db, nats_url):
    settings = GatewaySettings(
        database_url=gateway_db, nats_url=nats_url, session_recheck_seconds=0.1, **FAST_SETTINGS
    )
    async with serving(gateway_app(settings)) as client:
        await make_user(settings)  # a county admin
        await make_user(settings, "li.ming", region_code="511529100201", roles=("first_secretary",))
        yield client


async def signed_in_pair(gateway, login: str = "li.ming") -> tuple[dict[str, str], str]:
    pair = (await sign_in(gateway, login=login)).json()
    return {"Authorization": f"Bearer {pair['access_token']}"}, pair["refresh_token"]


async def refused(gateway, headers):
    return await eventually(
        lambda: gateway.get(ME, headers=headers), lambda r: r.status_code == 401
    )


async def test_logout_ends_that_sign_ins_access_token_and_no_other(gateway):
    phone, phone_refresh = await signed_in_pair(gateway)
    laptop, _ = await signed_in_pair(gateway)

    before = await gateway.get(ME, headers=phone)
    await gateway.post("/api/v1/auth/logout", json={"refresh_token": phone_refresh})
    after = await refused(gateway, phone)

    assert before.status_code == 200
    assert after.json()["code"] == "session_ended"
    assert (await gateway.get(ME, headers=laptop)).status_code == 200


async def test_a_deactivated_users_tokens_stop_working(gateway):
    admin = await signed_in(gateway, "zhang.wei")
    secretary, _ = await signed_in_pair(gateway)
    me = (await gateway.get(ME, headers=secretary)).json()

    deactivated = await gateway.post(
        f"/api/v1/identity/users/{me['user_id']}/deactivate", headers=admin
    )

    assert deactivated.status_code == 200
    assert (await refused(gateway, secretary)).json()["code"] == "session_ended"
    assert (await gateway.get(ME, headers=admin)).status_code == 200


async def test_a_reused_refresh_token_ends_the_access_tokens_of_its_family(gateway):
    first, stolen = await signed_in_pair(gateway)
    rotated = (await gateway.post("/api/v1/auth/refresh", json={"refresh_token": stolen})).json()
    current = {"Authorization": f"Bearer {rotated['access_token']}"}

    reuse = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": stolen})

    assert reuse.status_code == 401
    for headers in (first, current):
        assert (await refused(gateway, headers)).json()["code"] == "session_ended"


async def test_new_roles_or_a_new_region_take_effect_at_the_next_sign_in(gateway):
    admin = await signed_in(gateway, "zhang.wei")
    secretary, _ = await signed_in_pair(gateway)
    me = (await gateway.get(ME, headers=secretary)).json()

    moved = await gateway.patch(
        f"/api/v1/identity/users/{me['user_id']}",
        json={"region_code": "511529101201", "roles": ["team_member"]},
        headers=admin,
    )
    old = await refused(gateway, secretary)
    again, _ = await signed_in_pair(gateway)

    assert moved.status_code == 200
    assert old.json()["code"] == "session_ended"
    assert (await gateway.get(ME, headers=again)).json() | {"user_id": None} == {
        "user_id": None,
        "roles": ["team_member"],
        "scope": "511529101201",
    }
