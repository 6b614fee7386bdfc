"""审计: every entry says who, when, from where, through which route, to which record; the log
is kept 180 days at least, cannot be changed, and county admins read it within their region."""

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import pytest
from pydantic import ValidationError

from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from services.attendance.app import create_app as attendance_app
from services.attendance.settings import AttendanceSettings
from services.common.db import plain_url
from services.common.jobs import Period
from services.common.testing import FAST_SETTINGS, count_rows, listening, serving
from tests.attendance.factories import as_cadre, checkin_body, post_checkin

ENTRIES = "/api/v1/attendance/audit-entries"
OTHER_COUNTY = "511528000000"


async def insert_entry(db_url: str, *, at: datetime, region_code: str | None = None) -> UUID:
    """An entry written straight to the table, e.g. one dated long ago."""
    entry_id = uuid4()
    conn = await asyncpg.connect(plain_url(db_url))
    try:
        await conn.execute(
            "INSERT INTO audit_entry (id, at, action, region_code) VALUES ($1, $2, 'test.act', $3)",
            entry_id,
            at,
            region_code,
        )
    finally:
        await conn.close()
    return entry_id


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


async def entries(client, **params) -> list[dict]:
    response = await client.get(ENTRIES, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_checkin_is_audited_with_who_when_where_which_route_and_record(attendance, issuer):
    body = checkin_body()
    before = datetime.now(UTC)
    created = await attendance.post(
        "/api/v1/attendance/checkins",
        json=body,
        # what the gateway sends: the chain the client claimed, then the client it saw, last
        headers={"X-Forwarded-For": "10.0.0.1, 203.0.113.7", **as_cadre(issuer, body)},
    )
    resent = await post_checkin(attendance, issuer, body)  # the same client_id: nothing new

    [entry] = await entries(attendance)
    assert (created.status_code, resent.status_code) == (201, 200)
    assert entry["action"] == "attendance.checkin.recorded"
    assert entry["user_id"] == body["cadre_id"]
    assert before <= datetime.fromisoformat(entry["at"]) <= datetime.now(UTC)
    assert entry["source"] == "203.0.113.7"
    assert entry["route"] == "POST /api/v1/attendance/checkins"
    assert entry["target"] == created.json()["id"]
    assert entry["region_code"] == body["region_code"]
    assert entry["request_id"] == created.headers["x-request-id"]


async def test_behind_the_gateway_the_address_is_the_client_it_saw_not_one_it_claims(
    attendance_db, database, nats_url, issuer
):
    settings = AttendanceSettings(
        database_url=attendance_db, nats_url=nats_url, auth_jwks_url=issuer.url, **FAST_SETTINGS
    )
    async with listening(attendance_app(settings)) as attendance_url:
        gateway = gateway_app(
            GatewaySettings(
                database_url=await database("gateway"),
                nats_url=nats_url,
                attendance_url=attendance_url,
                **FAST_SETTINGS,
            )
        )
        async with serving(gateway) as client:
            body = checkin_body()
            created = await client.post(
                "/api/v1/attendance/checkins",
                json=body,
                headers={"X-Forwarded-For": "6.6.6.6", **as_cadre(issuer, body)},
            )
            listed = await client.get(ENTRIES, headers=issuer.headers("county_admin"))

    assert created.status_code == 201
    [entry] = listed.json()["items"]
    assert entry["source"] == "127.0.0.1"  # the test client, as the gateway saw it


async def test_the_gateway_records_its_own_peer_whatever_a_client_claims(database, nats_url):
    gateway_db = await database("gateway")
    settings = GatewaySettings(database_url=gateway_db, nats_url=nats_url, **FAST_SETTINGS)
    async with serving(gateway_app(settings)) as client:
        refused = await client.post(
            "/api/v1/auth/token",
            data={"username": "nobody", "password": "not-a-password"},
            headers={"X-Forwarded-For": "6.6.6.6"},
        )

    assert refused.status_code == 401
    assert await count_rows(gateway_db, "audit_entry", "source = '127.0.0.1'") == 1


async def test_not_even_the_owner_updates_or_truncates_the_log_nor_deletes_young_entries(
    attendance_db, as_owner
):
    young = await insert_entry(attendance_db, at=days_ago(179))
    old = await insert_entry(attendance_db, at=days_ago(181))
    conn = await asyncpg.connect(plain_url(as_owner(attendance_db)))  # the services cannot at all
    try:
        for statement in (
            "UPDATE audit_entry SET action = 'forged'",
            "TRUNCATE audit_entry",
            f"DELETE FROM audit_entry WHERE id = '{young}'",
            "DELETE FROM audit_entry",  # the old one with the young one: all or nothing
        ):
            with pytest.raises(asyncpg.RaiseError, match="cannot be changed"):
                await conn.execute(statement)
        deleted_old = await conn.execute("DELETE FROM audit_entry WHERE id = $1", old)
    finally:
        await conn.close()

    assert deleted_old == "DELETE 1"
    assert await count_rows(attendance_db, "audit_entry", "id = $1", young) == 1
    assert await count_rows(attendance_db, "audit_entry", "action = 'forged'") == 0


async def test_the_daily_prune_removes_only_entries_older_than_the_setting(attendance_db, nats_url):
    gone = await insert_entry(attendance_db, at=days_ago(401))
    kept = [
        await insert_entry(attendance_db, at=days_ago(days)) for days in (399, 200, 1)
    ]  # 200 days old could go (over 180), but the setting keeps 400
    settings = AttendanceSettings(
        database_url=attendance_db, nats_url=nats_url, audit_keep_days=400, **FAST_SETTINGS
    )
    scheduler = attendance_app(settings).state.kernel.jobs
    [prune] = [job for job in scheduler.jobs if job.name == "audit.prune"]
    try:
        ran = await scheduler.run_once(prune, Period.containing("day", date.today()).previous())
    finally:
        await scheduler.db.dispose()

    assert ran
    assert await count_rows(attendance_db, "audit_entry", "id = $1", gone) == 0
    assert await count_rows(attendance_db, "audit_entry", "id = ANY($1)", kept) == 3
    assert await count_rows(attendance_db, "job_run", "outcome->>'deleted' = '1'") == 1


def test_audit_entries_are_kept_at_least_180_days(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/postgres")
    monkeypatch.setenv("NATS_URL", "nats://nats:4222")
    monkeypatch.setenv("ATTENDANCE_AUDIT_KEEP_DAYS", "179")
    with pytest.raises(ValidationError, match="at least 180 days"):
        AttendanceSettings()

    assert AttendanceSettings(audit_keep_days=180).audit_keep_days == 180
    assert GatewaySettings().audit_keep_days == 1095  # three years unless a county says


async def test_county_admins_see_only_entries_within_their_county(
    attendance, issuer, attendance_db
):
    ours = await post_checkin(attendance, issuer)
    theirs_body = checkin_body(region_code="511528100201")
    theirs = await attendance.post(
        "/api/v1/attendance/checkins",
        json=theirs_body,
        headers=issuer.headers(
            "first_secretary", region_code=OTHER_COUNTY, user_id=UUID(theirs_body["cadre_id"])
        ),
    )
    await insert_entry(attendance_db, at=days_ago(0))  # no region: no county's to see

    attendance.headers.update(issuer.headers("county_admin", region_code=OTHER_COUNTY))
    their_view = await entries(attendance)
    attendance.headers.update(issuer.headers("county_admin"))
    our_view = await entries(attendance)

    assert [e["target"] for e in our_view] == [ours.json()["id"]]
    assert [e["target"] for e in their_view] == [theirs.json()["id"]]


async def test_the_filters_and_pages(attendance, issuer):
    first = (await post_checkin(attendance, issuer)).json()
    second = (await post_checkin(attendance, issuer)).json()
    now = datetime.now(UTC).isoformat()

    assert [e["target"] for e in await entries(attendance)] == [second["id"], first["id"]]
    assert [e["target"] for e in await entries(attendance, user_id=first["cadre_id"])] == [
        first["id"]
    ]
    assert [e["target"] for e in await entries(attendance, target=second["id"])] == [second["id"]]
    assert len(await entries(attendance, action="attendance.checkin.recorded")) == 2
    assert await entries(attendance, action="auth.signed_in") == []
    assert await entries(attendance, since=now) == []
    assert len(await entries(attendance, until=now)) == 2
    page = (await attendance.get(ENTRIES, params={"limit": 1})).json()
    rest = await entries(attendance, limit=1, cursor=page["next_cursor"])
    assert [e["target"] for e in page["items"] + rest] == [second["id"], first["id"]]


async def test_no_route_changes_or_deletes_an_entry(attendance, issuer):
    await post_checkin(attendance, issuer)
    [entry] = await entries(attendance)
    one = f"{ENTRIES}/{entry['id']}"

    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert (await attendance.request(method, ENTRIES, json={})).status_code == 405
        assert (await attendance.request(method, one, json={})).status_code == 404
    assert await entries(attendance) == [entry]
