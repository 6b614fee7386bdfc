"""Small builders with defaults: override only what the test is about."""

from typing import Any
from uuid import UUID, uuid4


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
