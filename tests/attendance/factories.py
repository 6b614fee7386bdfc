"""Small builders with defaults: override only what the test is about."""

import json
from datetime import date
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
    """A team term (`team_member_body` with the overrides) put on the roster through its route."""
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


def spot_check_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "client_id": str(uuid4()),
        "region_code": "511529100201",
        "visited_at": "2026-11-23T10:30:00+08:00",
        "found": [],
        "not_found": [],
        "notes": "上午到村，村委会有人值守",
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


def conduct_report_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "region_code": "511529100201",
        "first_day": "2026-11-01",
        "last_day": "2026-11-30",
        "presence": "mostly",
        "conduct": "工作队入户走访勤，群众反映较好",
    }
    body.update(overrides)
    return body


def talk_body(cadre_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "cadre_id": cadre_id,
        "region_code": "511529100201",
        "talked_on": "2026-11-20",
        "topics": "驻村生活和工作情况",
    }
    body.update(overrides)
    return body


async def approved_leave(
    client: Any, issuer: Any, member: dict[str, Any], first_day: date, last_day: date
) -> str:
    """Leave of the cadre of `member` (a term), asked by them and approved by the township,
    through the routes; its id."""
    asked = await ask_leave(
        client, issuer, member, first_day=first_day.isoformat(), last_day=last_day.isoformat()
    )
    assert asked.status_code == 201, asked.text
    township = f"{member['region_code'][:9]}000"
    officer = as_user(issuer, "township_officer", str(uuid4()), township)
    leave_id = asked.json()["id"]
    approved = await client.post(
        f"/api/v1/attendance/leave-requests/{leave_id}/approve", headers=officer
    )
    assert approved.status_code == 200, approved.text
    return leave_id
