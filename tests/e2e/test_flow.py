"""Section 4's flow through the gateway, with every part a real process."""

import asyncio
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from services.common.db import plain_url
from services.common.devservers import RUNTIME_ROLE
from services.common.testing import count_rows, eventually
from tests.attendance.factories import checkin_body
from tests.e2e.conftest import Cadre, make_stack, running, sign_in
from zhucun import seed
from zhucun.stack import APPS, database_url


@pytest.fixture(scope="module")
def stack(pg_url, runtime_url, nats_server_url, tmp_path_factory):
    directory = tmp_path_factory.mktemp("stack")
    yield from running(make_stack(directory, pg_url, runtime_url, nats_server_url))


@pytest.fixture(scope="module")
def secretary(stack) -> Cadre:
    """第一书记 of the demo village, signed in through the gateway."""
    return sign_in(stack.gateway_url, "demo.first_secretary")


@pytest.fixture
async def gateway(stack, secretary):
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, timeout=10, headers=secretary.headers
    ) as client:
        yield client


async def messages_for(gateway, cadre: Cadre) -> list[dict]:
    response = await gateway.get(
        "/api/v1/notify/messages", params={"recipient_id": cadre.user_id}, headers=cadre.headers
    )
    assert response.status_code == 200
    return response.json()["items"]


async def test_a_checkin_through_the_gateway_becomes_one_message(stack, gateway):
    member = sign_in(stack.gateway_url, "demo.team_member")  # only this test checks in as them
    body = member.checkin()
    first = await gateway.post("/api/v1/attendance/checkins", json=body, headers=member.headers)
    again = await gateway.post("/api/v1/attendance/checkins", json=body, headers=member.headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    [message] = await eventually(lambda: messages_for(gateway, member), bool)
    assert message["template"] == "checkin_receipt"
    await asyncio.sleep(1.0)  # a second message, were there one, would have arrived by now
    assert len(await messages_for(gateway, member)) == 1


async def test_without_a_token_the_services_answer_401_through_the_gateway(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url) as anonymous:
        checkin = await anonymous.post("/api/v1/attendance/checkins", json=checkin_body())
        messages = await anonymous.get("/api/v1/notify/messages")

    assert (checkin.status_code, checkin.json()["code"]) == (401, "unauthenticated")
    assert messages.status_code == 401


async def test_the_whole_system_is_ready_and_documented_in_one_place(gateway):
    ready = await gateway.get("/readyz")
    document = (await gateway.get("/api/v1/openapi.json")).json()

    assert ready.status_code == 200
    assert set(ready.json()["checks"]) >= {"database", "nats", "attendance", "notify"}
    assert "/api/v1/attendance/checkins" in document["paths"]
    assert "/api/v1/notify/messages" in document["paths"]
    assert "/api/v1/regions" in document["paths"]
    assert "/api/v1/inspections/dead-letters" in document["paths"]
    for path, item in document["paths"].items():
        for operation in item.values():
            assert operation.get("summary"), f"{path} has no summary"


async def test_the_demo_county_is_seeded_once_however_often_it_starts(stack, gateway):
    townships = await gateway.get(
        "/api/v1/regions", params={"parent": "511529000000", "limit": 100}
    )
    villages = await gateway.get("/api/v1/regions", params={"parent": "511529210000"})
    gateway_db = database_url(stack.database_url, "gateway", stack.database_prefix)
    attendance_db = database_url(stack.database_url, "attendance", stack.database_prefix)
    before = (
        await count_rows(gateway_db, "region"),
        await count_rows(attendance_db, "checkin"),
        await count_rows(gateway_db, "user_account"),
        await count_rows(gateway_db, "outbox", "type = 'identity.user.created'"),
    )

    await seed.seed_demo_county(stack.database_url, stack.nats_url, stack.database_prefix)

    names = {t["name"] for t in townships.json()["items"]}
    assert len(names) == 11 and "屏边彝族乡" in names
    assert 8 <= len(villages.json()["items"]) <= 12
    assert all(v["code"].startswith("511529210") for v in villages.json()["items"])
    assert before[1] > 0
    assert before[2] == before[3] == 11  # a demo user for every role, each announced
    assert (
        await count_rows(gateway_db, "region"),
        await count_rows(attendance_db, "checkin"),
        await count_rows(gateway_db, "user_account"),
        await count_rows(gateway_db, "outbox", "type = 'identity.user.created'"),
    ) == before


async def test_the_demo_countys_attendance_reports_are_filled(stack, gateway):
    admin = sign_in(stack.gateway_url, "demo.county_admin")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    period = {"from": last_month.isoformat(), "to": (today - timedelta(days=1)).isoformat()}

    cadres = await gateway.get(
        "/api/v1/attendance/reports/cadres", params={**period, "limit": 500}, headers=admin.headers
    )
    townships = await gateway.get(
        "/api/v1/attendance/reports/regions",
        params={**period, "level": "township"},
        headers=admin.headers,
    )
    as_xlsx = await gateway.get(
        "/api/v1/attendance/reports/regions",
        params={**period, "level": "county", "format": "xlsx"},
        headers=admin.headers,
    )

    rows = cadres.json()["items"]
    assert len(rows) > 100  # every village's first secretary, and 锦屏镇's members
    columns = ("present", "absent", "leave", "training", "trip", "flagged_checkins")
    for column in (*columns, "spot_checks_found", "spot_checks_missed"):
        assert any(row[column] > 0 for row in rows), f"no cadre has any {column}"
    assert len(townships.json()["items"]) == 11
    assert as_xlsx.status_code == 200
    assert as_xlsx.content[:2] == b"PK"  # a zip: the workbook


async def test_the_demo_countys_notify_knows_its_people_and_has_a_greeting_scheduled(
    stack, gateway
):
    """The demo's users reached notify through identity's events; its units, a villagers'
    list and a Spring Festival campaign were seeded; the seeded absences were alerted."""
    admin = sign_in(stack.gateway_url, "demo.county_admin")

    async def known(role: str) -> list[dict]:
        found = await gateway.get(
            "/api/v1/notify/contacts", params={"role": role}, headers=admin.headers
        )
        return found.json()["items"]

    leaders = await eventually(lambda: known("contact_leader"), bool)
    units = await gateway.get(
        "/api/v1/notify/contacts", params={"kind": "unit"}, headers=admin.headers
    )
    [campaign] = (await gateway.get("/api/v1/notify/campaigns", headers=admin.headers)).json()[
        "items"
    ]
    preview = await gateway.get(
        f"/api/v1/notify/campaigns/{campaign['id']}/preview", headers=admin.headers
    )
    alerts = await eventually(
        lambda: gateway.get(
            "/api/v1/notify/messages", params={"template": "absence_alert"}, headers=admin.headers
        ),
        lambda r: bool(r.json()["items"]),
    )

    assert leaders[0]["phone"].startswith("1")  # the county admin reads phones in clear
    assert len(units.json()["items"]) == 6
    assert campaign["status"] == "scheduled"
    assert campaign["festival_code"] == "spring_festival"
    assert preview.status_code == 200
    assert preview.json()["recipients"] > 12  # the list's twelve and the cadres
    assert alerts.status_code == 200


async def test_bad_input_through_the_gateway_is_a_problem_and_stores_nothing(
    stack, gateway, secretary
):
    attendance_db = database_url(stack.database_url, "attendance", stack.database_prefix)
    before = await count_rows(attendance_db, "checkin")
    oversized = await gateway.post(
        "/api/v1/attendance/checkins", json=secretary.checkin(note="x" * 2_000_000)
    )
    wrong = await gateway.post("/api/v1/attendance/checkins", json=secretary.checkin(latitude="n"))

    assert oversized.status_code == 413
    assert oversized.json()["code"] == "payload_too_large"
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == "application/problem+json"
    assert await count_rows(attendance_db, "checkin") == before


async def test_a_stopped_service_is_a_502_and_its_restart_heals_it(stack, gateway):
    stack.stop_service("notify")
    down = await gateway.get("/api/v1/notify/messages")
    stack.start_service("notify")
    await asyncio.to_thread(stack.wait_ready, "notify")
    up = await gateway.get("/api/v1/notify/messages")

    assert down.status_code == 502
    assert down.json()["code"] == "upstream_unavailable"
    assert up.status_code == 200


async def test_an_oversized_streamed_upload_through_the_gateway_is_a_413(stack, gateway):
    async def chunks():
        for _ in range(40):  # 2.5 MB without a Content-Length: the limit is counted as it arrives
            yield b"x" * 65536

    response = await gateway.post(
        "/api/v1/attendance/checkins",
        content=chunks(),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_a_streamed_upload_under_the_limit_reaches_the_service_whole(gateway, secretary):
    body = json.dumps(secretary.checkin()).encode()

    async def chunks():
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    response = await gateway.post(
        "/api/v1/attendance/checkins",
        content=chunks(),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 201
    assert response.json()["client_id"] == json.loads(body)["client_id"]


async def test_a_demo_user_signs_in_through_the_gateway(gateway):
    response = await gateway.post(
        "/api/v1/auth/token",
        data={"username": "demo.first_secretary", "password": seed.DEMO_PASSWORD},
    )

    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    keys = (await gateway.get("/api/v1/auth/jwks")).json()["keys"]
    assert keys and all(key["alg"] == "EdDSA" for key in keys)


async def test_me_names_the_signed_in_user(gateway, secretary):
    me = (await gateway.get("/api/v1/auth/me")).json()

    assert me == {
        "user_id": secretary.user_id,
        "roles": ["first_secretary"],
        "scope": "511529100201",
    }


async def test_the_demo_users_phones_are_clear_to_the_admin_and_masked_to_the_viewer(stack):
    admin = sign_in(stack.gateway_url, "demo.county_admin")
    viewer = sign_in(stack.gateway_url, "demo.viewer")
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        by_admin = await client.get("/api/v1/identity/users", headers=admin.headers)
        by_viewer = await client.get("/api/v1/identity/users", headers=viewer.headers)

    phones = [u["phone"] for u in by_admin.json()["items"]]
    assert len(phones) == 11 and all(p.startswith("1390000") for p in phones)
    assert all(u["phone"].startswith("139****") for u in by_viewer.json()["items"])
    assert "created_at" in by_admin.json()["items"][0]
    assert "created_at" not in by_viewer.json()["items"][0]


async def test_an_integrations_api_key_reads_the_county_through_the_hop_until_revoked(stack):
    admin = sign_in(stack.gateway_url, "demo.county_admin")
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        made = await client.post(
            "/api/v1/identity/api-keys",
            json={"name": "防返贫监测系统", "region_code": "511529000000"},
            headers=admin.headers,
        )
        key = {"X-API-Key": made.json()["secret"]}
        checkins = await client.get("/api/v1/attendance/checkins", headers=key)
        checkin_write = await client.post(
            "/api/v1/attendance/checkins", json=checkin_body(), headers=key
        )
        revoked = await client.post(
            f"/api/v1/identity/api-keys/{made.json()['id']}/revoke", headers=admin.headers
        )

        async def refused() -> int:
            return (await client.get("/api/v1/attendance/checkins", headers=key)).status_code

        after = await eventually(refused, lambda status: status == 401, within=15)

    assert made.status_code == 201
    assert checkins.status_code == 200
    assert checkins.json()["items"], "the seeded county's check-ins reach the integration"
    assert all(c["region_code"].startswith("511529") for c in checkins.json()["items"])
    assert checkin_write.status_code == 403  # an integration reads; it does not check in
    assert revoked.status_code == 200
    assert after == 401


async def test_a_checkin_is_audited_with_who_from_where_and_which_route(stack, secretary):
    admin = sign_in(stack.gateway_url, "demo.county_admin")
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as client:
        checkin = await client.post(
            "/api/v1/attendance/checkins",
            json=secretary.checkin(),
            headers={**secretary.headers, "X-Forwarded-For": "6.6.6.6"},  # a client's own claim
        )
        entries = await client.get(
            "/api/v1/attendance/audit-entries",
            params={"target": checkin.json()["id"]},
            headers=admin.headers,
        )

    [entry] = entries.json()["items"]
    assert entry["user_id"] == secretary.user_id
    assert entry["route"] == "POST /api/v1/attendance/checkins"
    assert entry["region_code"] == "511529100201"
    assert entry["source"] == "127.0.0.1"  # what the gateway saw, not what the client claimed


async def test_every_part_serves_as_the_role_that_owns_nothing(stack, gateway):
    assert (await gateway.get("/readyz")).status_code == 200
    owner = await asyncpg.connect(plain_url(stack.migration_database_url))
    try:  # each part holds its relay's LISTEN connection open
        rows = await owner.fetch(
            "SELECT DISTINCT datname, usename FROM pg_stat_activity WHERE datname LIKE $1",
            f"{stack.database_prefix}_%",
        )
    finally:
        await owner.close()

    assert {row["datname"] for row in rows} == {f"{stack.database_prefix}_{n}" for n in APPS}
    assert {row["usename"] for row in rows} == {RUNTIME_ROLE}
