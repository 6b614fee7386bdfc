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
