"""NATS goes away mid-flow: writes still succeed, and every event arrives once it is back."""

import asyncio

import httpx
import pytest

from services.common.testing import count_rows, eventually
from tests.e2e.conftest import make_stack, running, sign_in
from zhucun.stack import database_url


@pytest.fixture
def stack(pg_url, runtime_url, tmp_path):
    # One cadre sends 200 check-ins in a couple of seconds, past the gateway's per-user limit
    # (100 at once, 20 a second): lifted here, where NATS is what is tested.
    lifted = {
        "GATEWAY_RATE_LIMIT_USER_PER_SECOND": "10000",
        "GATEWAY_RATE_LIMIT_USER_BURST": "10000",
    }
    yield from running(make_stack(tmp_path, pg_url, runtime_url, extra_env=lifted))


async def test_200_checkins_while_nats_is_down_make_exactly_200_messages(stack):
    notify_db = database_url(stack.database_url, "notify", stack.database_prefix)
    # The demo team member joined today: the seed's month of check-ins is not theirs.
    member = sign_in(stack.gateway_url, "demo.team_member")
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, timeout=30, headers=member.headers
    ) as gateway:
        stack.nats.stop()
        await eventually(lambda: gateway.get("/readyz"), lambda r: r.status_code == 503, within=10)
        bodies = [member.checkin() for _ in range(200)]
        statuses = []
        for chunk in range(0, 200, 20):
            responses = await asyncio.gather(
                *(
                    gateway.post("/api/v1/attendance/checkins", json=b)
                    for b in bodies[chunk : chunk + 20]
                )
            )
            statuses += [r.status_code for r in responses]
        assert statuses == [201] * 200
        assert await count_rows(notify_db, "message", "recipient_id = $1", member.user_id) == 0

        stack.nats.start()
        mine = "recipient_id = $1"
        await eventually(
            lambda: count_rows(notify_db, "message", mine, member.user_id),
            lambda n: n >= 200,
            within=60,
        )
        await asyncio.sleep(2)  # anything twice would show by now

    assert await count_rows(notify_db, "message", mine, member.user_id) == 200
    distinct_events = "(SELECT DISTINCT event_id FROM message WHERE recipient_id = $1) AS e"
    assert await count_rows(notify_db, distinct_events, "TRUE", member.user_id) == 200
