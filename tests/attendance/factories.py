"""Small builders with defaults: override only what the test is about."""

import json
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.common.db import plain_url


def checkin_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "client_id": str(uuid4()),
        "cadre_id": str(uuid4()),
        "region_code": "511529100201",
        "kind": "checkin",
        "latitude": 28.64,
        "longitude": 104.16,
        "accuracy_m": 12.5,
        "client_time": "2026-11-23T08:05:00+08:00",
    }
    body.update(overrides)
    return body


def as_cadre(issuer: Any, body: dict[str, Any]) -> dict[str, str]:
    """The headers of the cadre the check-in is for: cadres check in for themselves."""
    return issuer.headers(
        "first_secretary", region_code="511529000000", user_id=UUID(body["cadre_id"])
    )


async def post_checkin(client: Any, issuer: Any, body: dict[str, Any] | None = None) -> Any:
    body = body or checkin_body()
    return await client.post(
        "/api/v1/attendance/checkins", json=body, headers=as_cadre(issuer, body)
    )


def team_member_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "cadre_id": str(uuid4()),
        "region_code": "511529100201",
        "role": "member",
        "unit_name": "平山县农业农村局",
        "term_start": "2026-01-01",
        "term_end": "2027-12-31",
    }
    body.update(overrides)
    return body


def checkin_area_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "region_code": "511529100201",
        "name": "村委会",
        "geometry": {"kind": "circle", "latitude": 28.64, "longitude": 104.16, "radius_m": 300},
    }
    body.update(overrides)
    return body


async def outbox_events(url: str, event_type: str) -> list[dict[str, Any]]:
    """The events of `event_type` the service recorded to publish, oldest first."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        rows = await conn.fetch(
            "SELECT payload FROM outbox WHERE type = $1 ORDER BY created_at, id", event_type
        )
    finally:
        await conn.close()
    return [json.loads(r["payload"]) for r in rows]


async def put_on_team(client: Any, **overrides: Any) -> dict[str, Any]:
    """A cadre's term on a village's team, made through the roster route."""
    response = await client.post(
        "/api/v1/attendance/team-members", json=team_member_body(**overrides)
    )
    assert response.status_code == 201, response.text
    return response.json()


def leave_body(cadre_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "cadre_id": cadre_id,
        "kind": "leave",
        "first_day": "2026-11-10",
        "last_day": "2026-11-12",
        "reason": "家中老人住院",
    }
    body.update(overrides)
    return body


def as_user(issuer: Any, role: str, user_id: str, region_code: str = "511529100201") -> Any:
    return issuer.headers(role, region_code=region_code, user_id=UUID(user_id))


async def ask_leave(client: Any, issuer: Any, member: dict[str, Any], **overrides: Any) -> Any:
    """The cadre of `member` (a term) asks for leave, as themselves."""
    role = "first_secretary" if member["role"] == "first_secretary" else "team_member"
    return await client.post(
        "/api/v1/attendance/leave-requests",
        json=leave_body(member["cadre_id"], **overrides),
        headers=as_user(issuer, role, member["cadre_id"], member["region_code"]),
    )
