"""Small builders with defaults: override only what the test is about."""

import json
import struct
import zlib
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


async def upload_photo(
    client: Any,
    content: bytes,
    content_type: str = "image/jpeg",
    *,
    region_code: str = "511529100201",
    headers: dict[str, str] | None = None,
) -> Any:
    """POST the image itself, as a phone uploads a check-in photo."""
    return await client.post(
        "/api/v1/attendance/photos",
        params={"region_code": region_code},
        content=content,
        headers={"content-type": content_type, **(headers or {})},
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


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_photo(note: str | None = None, *, padding: int = 0) -> bytes:
    """A real 1×1 grey PNG, built by hand. `note` (a text chunk; a new one by default) makes
    its bytes its own; `padding` adds as many bytes to the note."""
    text = b"Comment\x00" + (note or uuid4().hex).encode() + b" " * padding
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)),  # 8-bit RGB
            _png_chunk(b"tEXt", text),
            _png_chunk(b"IDAT", zlib.compress(b"\x00\x80\x80\x80")),  # no filter, one pixel
            _png_chunk(b"IEND", b""),
        ]
    )


def _jpeg_segment(marker: int, data: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data


def jpeg_photo(note: str | None = None) -> bytes:
    """A real 8×8 grey baseline JPEG, built by hand: one block whose coefficients are all 0,
    coded with Huffman tables of one symbol each. `note` (a comment segment; a new one by
    default) makes its bytes its own."""
    one_code = bytes([1] + [0] * 15) + b"\x00"  # one code, one bit long, for the symbol 0
    return b"".join(
        [
            b"\xff\xd8",  # start of image
            _jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _jpeg_segment(0xFE, (note or uuid4().hex).encode()),
            _jpeg_segment(0xDB, b"\x00" + bytes([1] * 64)),  # quantisation: all ones
            _jpeg_segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00"),  # 8×8, one channel
            _jpeg_segment(0xC4, b"\x00" + one_code),  # DC table
            _jpeg_segment(0xC4, b"\x10" + one_code),  # AC table
            _jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),  # start of scan
            b"\x3f",  # DC difference 0, end of block (two 0 bits), padded with 1 bits
            b"\xff\xd9",  # end of image
        ]
    )
