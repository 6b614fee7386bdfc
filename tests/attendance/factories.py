"""Small builders with defaults: override only what the test is about."""

import struct
import zlib
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
