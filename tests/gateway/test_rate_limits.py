"""Rate limits at the gateway: a token bucket per user, per API key, and per client address for
requests without a valid token; 429 problem+json with Retry-After, then recovery."""

import asyncio
import time

import pytest

from gateway.app import create_app as gateway_app
from gateway.ratelimit import Buckets
from gateway.settings import GatewaySettings
from services.common.testing import FAST_SETTINGS, serving
from tests.gateway.factories import make_user, signed_in

ME = "/api/v1/auth/me"


@pytest.fixture
def settings(gateway_db, nats_url):
    return GatewaySettings(
        database_url=gateway_db,
        nats_url=nats_url,
        rate_limit_user_per_second=1,
        rate_limit_user_burst=3,
        rate_limit_api_key_per_second=1,
        rate_limit_api_key_burst=2,
        rate_limit_anonymous_per_second=1,
        rate_limit_anonymous_burst=4,
        **FAST_SETTINGS,
    )


@pytest.fixture
async def gateway(settings):
    async with serving(gateway_app(settings)) as client:
        await make_user(settings)
        await make_user(settings, "li.ming", region_code="511529100201", roles=("first_secretary",))
        yield client


async def statuses(gateway, path, times, **kwargs) -> list[int]:
    return [(await gateway.get(path, **kwargs)).status_code for _ in range(times)]


async def test_a_user_over_the_limit_gets_429_with_retry_after_then_recovers(gateway):
    admin = await signed_in(gateway)

    within = await statuses(gateway, ME, 3, headers=admin)
    over = await gateway.get(ME, headers=admin)
    await asyncio.sleep(int(over.headers["retry-after"]))
    recovered = await gateway.get(ME, headers=admin)

    assert within == [200, 200, 200]
    assert over.status_code == 429
    assert over.headers["content-type"] == "application/problem+json"
    assert over.json()["code"] == "rate_limited"
    assert over.headers["retry-after"] == "1"
    assert recovered.status_code == 200


async def test_the_bucket_is_each_users_own(gateway):
    admin, secretary = await signed_in(gateway), await signed_in(gateway, "li.ming")

    admin_over = await statuses(gateway, ME, 4, headers=admin)
    secretary_meanwhile = await gateway.get(ME, headers=secretary)

    assert admin_over[-1] == 429
    assert secretary_meanwhile.status_code == 200


async def test_requests_without_a_valid_token_are_limited_by_address_signing_in_too(gateway):
    # Two sign-ins have used two of the address's four; a forged token counts as none.
    await signed_in(gateway)
    await signed_in(gateway, "li.ming")
    forged = await statuses(gateway, ME, 2, headers={"Authorization": "Bearer forged"})
    sign_in = await gateway.post("/api/v1/auth/token", data={"username": "x", "password": "y"})

    assert forged == [401, 401]
    assert sign_in.status_code == 429


async def test_an_api_key_has_a_bucket_of_its_own(gateway):
    admin = await signed_in(gateway)
    created = await gateway.post(
        "/api/v1/identity/api-keys",
        json={"name": "监测系统", "region_code": "511529000000"},
        headers=admin,
    )
    key = {"X-API-Key": created.json()["secret"]}

    used = await statuses(gateway, "/api/v1/regions", 3, headers=key)
    admin_meanwhile = await gateway.get(ME, headers=admin)

    assert used == [200, 200, 429]
    assert admin_meanwhile.status_code == 200


def test_idle_buckets_are_forgotten_and_their_number_is_bounded():
    idle = Buckets(rate=1000, burst=1)  # refilled a millisecond after use
    for caller in range(100):
        idle.take(caller)
    busy = Buckets(rate=1, burst=10, most=5)
    for caller in range(100):
        busy.take(caller)

    time.sleep(0.01)
    idle.take("one more")

    assert len(idle) == 1
    assert len(busy) == 5


def test_a_bucket_lets_a_burst_through_then_one_request_per_interval():
    bucket = Buckets(rate=2, burst=3)

    waits = [bucket.take("cadre") for _ in range(4)]

    assert waits[:3] == [0, 0, 0]
    assert 0 < waits[3] <= 0.5  # half a second for the next token, at most


async def test_the_keys_that_verify_tokens_are_never_limited(gateway):
    # The services fetch them from one address, all at once after a rotation.
    jwks = await statuses(gateway, "/api/v1/auth/jwks", 10)

    assert jwks == [200] * 10


async def test_a_providers_callbacks_draw_on_their_own_larger_buckets(gateway):
    """An SMS provider pushes receipts at a campaign's pace without a token: not limited like
    an anonymous caller (4 here), nor do its pushes use up the anonymous bucket."""
    receipts = "/api/v1/notify/callbacks/aliyun/receipts"
    pushed = [(await gateway.post(receipts)).status_code for _ in range(10)]
    anonymous = await statuses(gateway, ME, 4)

    assert 429 not in pushed  # (notify is not running here: the hop answers 502)
    assert anonymous == [401] * 4


async def test_a_path_that_only_passes_through_callbacks_is_limited_as_what_it_reaches(gateway):
    """`/callbacks/../contacts` is notify's contacts once the hop resolves it: the anonymous
    bucket's, not the callbacks'."""
    sneaking = "/api/v1/notify/callbacks/%2E%2E/contacts"
    answers = [(await gateway.get(sneaking)).status_code for _ in range(8)]
    assert 429 in answers
