"""签到照片: a cadre uploads the photo, then checks in naming it by its SHA-256. A photo is
stored once by its content, only if its bytes are the image they were sent as and no larger
than the limit; it belongs to its village; a check-in records it (the flag for a photo used
twice is in test_judgement.py)."""

import hashlib
import struct
from functools import partial
from uuid import uuid4

import pytest

from services.attendance.app import create_app
from services.attendance.photos.service import sniffed_type
from services.attendance.settings import AttendanceSettings
from services.common.testing import count_rows
from tests.attendance.factories import (
    as_cadre,
    checkin_body,
    jpeg_photo,
    png_photo,
    post_checkin,
    upload_photo,
)
from tests.conftest import client_of

PHOTOS = "/api/v1/attendance/photos"
VILLAGE_A = "511529100201"
VILLAGE_B = "511529100202"
MIB = 1024 * 1024


def villager(issuer, role: str = "team_member", region_code: str = VILLAGE_A) -> dict[str, str]:
    return issuer.headers(role, region_code=region_code)


async def stored_photo(client, content: bytes | None = None, region_code: str = VILLAGE_A) -> str:
    response = await upload_photo(client, content or jpeg_photo(), region_code=region_code)
    assert response.status_code == 201, response.text
    return response.json()["sha256"]


async def test_a_photo_is_stored_by_its_content_and_served_back_as_it_came(
    attendance, attendance_db, issuer
):
    jpeg, png = jpeg_photo(), png_photo()

    stored = await upload_photo(attendance, jpeg, headers=villager(issuer))
    also = await upload_photo(attendance, png, "image/png", headers=villager(issuer))
    served = await attendance.get(stored.headers["location"], headers=villager(issuer))

    sha256 = hashlib.sha256(jpeg).hexdigest()
    assert stored.status_code == 201
    assert stored.headers["location"] == f"{PHOTOS}/{sha256}"
    assert stored.json() == {
        "sha256": sha256,
        "content_type": "image/jpeg",
        "size_bytes": len(jpeg),
        "uploaded_at": stored.json()["uploaded_at"],
    }
    assert (also.status_code, also.json()["content_type"]) == (201, "image/png")
    assert served.status_code == 200 and served.content == jpeg
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert await count_rows(attendance_db, "photo") == 2
    uploaded = "action = 'attendance.photo.uploaded' AND region_code = $1"
    assert await count_rows(attendance_db, "audit_entry", uploaded, VILLAGE_A) == 2


async def test_the_same_bytes_again_store_nothing_new(attendance, attendance_db, issuer):
    jpeg = jpeg_photo()

    first = await upload_photo(attendance, jpeg, headers=villager(issuer))
    again = await upload_photo(attendance, jpeg, headers=villager(issuer, "first_secretary"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert await count_rows(attendance_db, "photo") == 1
    assert await count_rows(attendance_db, "audit_entry") == 1


REFUSED = {
    "not an image": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "image/jpeg", 422, "photo_not_image"),
    "a page calling itself an image": (
        b"<html><script>alert(1)</script></html>", "image/png", 422, "photo_not_image"
    ),
    "a PNG sent as a JPEG": (png_photo(), "image/jpeg", 422, "photo_type_mismatch"),
    "a JPEG sent as a WebP": (jpeg_photo(), "image/webp", 422, "photo_type_mismatch"),
    "empty": (b"", "image/jpeg", 422, "photo_empty"),
    "a type not taken": (jpeg_photo(), "image/gif", 415, "photo_type_unsupported"),
    "no image type": (jpeg_photo(), "application/octet-stream", 415, "photo_type_unsupported"),
    "over the limit": (png_photo(padding=5 * MIB), "image/png", 413, "photo_too_large"),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSED)
async def test_a_refused_upload_is_a_clear_problem_and_stores_nothing(
    case, attendance, attendance_db
):
    content, content_type, status, code = REFUSED[case]

    response = await upload_photo(attendance, content, content_type)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["status"]) == (code, status)
    assert response.json()["detail"] and response.json()["request_id"]
    assert await count_rows(attendance_db, "photo") == 0
    assert await count_rows(attendance_db, "audit_entry") == 0


async def test_an_unsupported_type_names_the_ones_taken(attendance):
    response = await upload_photo(attendance, jpeg_photo(), "image/gif")

    assert response.headers["accept-post"] == "image/jpeg, image/png, image/webp, image/heic"


async def test_a_photo_larger_than_a_json_body_is_taken_and_a_streamed_one_is_limited_too(
    attendance, attendance_db
):
    async def chunks():  # no Content-Length: counted as it streams in
        for _ in range(6):
            yield b"\xff\xd8\xff" + b"\x00" * (MIB - 3)

    two_mib = await upload_photo(attendance, png_photo(padding=2 * MIB), "image/png")
    streamed = await upload_photo(attendance, chunks())

    assert two_mib.status_code == 201  # twice the service's limit for JSON
    assert (streamed.status_code, streamed.json()["code"]) == (413, "photo_too_large")
    assert await count_rows(attendance_db, "photo") == 1


async def test_the_limit_is_the_services_setting(attendance_db, nats_url, issuer):
    settings = partial(AttendanceSettings, photo_max_bytes=2_000)
    async with client_of(create_app, settings, attendance_db, nats_url, issuer) as client:
        small = await upload_photo(client, jpeg_photo())
        large = await upload_photo(client, png_photo(padding=2_000), "image/png")

    assert small.status_code == 201
    assert (large.status_code, large.json()["code"]) == (413, "photo_too_large")
    assert "2000" in large.json()["detail"]


async def test_an_upload_is_for_a_village_within_ones_region(attendance, attendance_db, issuer):
    elsewhere = await upload_photo(
        attendance, jpeg_photo(), region_code=VILLAGE_B, headers=villager(issuer)
    )
    township = await upload_photo(attendance, jpeg_photo(), region_code="511529100000")
    no_code = await attendance.post(
        PHOTOS, content=jpeg_photo(), headers={"content-type": "image/jpeg"}
    )

    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "outside_scope")
    assert (township.status_code, township.json()["errors"][0]["field"]) == (422, "region_code")
    assert no_code.status_code == 422
    assert await count_rows(attendance_db, "photo") == 0


async def test_another_villages_photo_is_not_read_nor_uploaded_again_from_elsewhere(
    attendance, attendance_db, issuer
):
    jpeg = jpeg_photo()
    sha256 = await stored_photo(attendance, jpeg, region_code=VILLAGE_B)

    read_from_a = await attendance.get(f"{PHOTOS}/{sha256}", headers=villager(issuer))
    read_from_b = await attendance.get(
        f"{PHOTOS}/{sha256}", headers=villager(issuer, region_code=VILLAGE_B)
    )
    unknown = await attendance.get(f"{PHOTOS}/{'0' * 64}")
    again_from_a = await upload_photo(attendance, jpeg, headers=villager(issuer))

    assert (read_from_a.status_code, read_from_a.json()["code"]) == (404, "photo_not_found")
    assert (read_from_b.status_code, read_from_b.content) == (200, jpeg)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "photo_not_found")
    assert (again_from_a.status_code, again_from_a.json()["code"]) == (
        409,
        "photo_stored_elsewhere",
    )
    assert await count_rows(attendance_db, "photo", "region_code = $1", VILLAGE_B) == 1


async def test_a_checkin_records_its_photo(attendance, attendance_db, issuer):
    sha256 = await stored_photo(attendance)
    body = checkin_body(photo_sha256=sha256)

    recorded = await post_checkin(attendance, issuer, body)
    resent = await post_checkin(attendance, issuer, body)
    other_photo = await post_checkin(
        attendance, issuer, {**body, "photo_sha256": await stored_photo(attendance)}
    )
    read = await attendance.get(f"/api/v1/attendance/checkins/{recorded.json()['id']}")

    assert recorded.status_code == 201
    assert recorded.json()["photo_sha256"] == sha256
    assert "photo_reused" not in recorded.json()["flags"]
    assert (resent.status_code, resent.json()) == (200, recorded.json())
    assert (other_photo.status_code, other_photo.json()["code"]) == (409, "client_id_reused")
    assert read.json()["photo_sha256"] == sha256
    assert await count_rows(attendance_db, "checkin", "photo_sha256 = $1", sha256) == 1


@pytest.mark.parametrize("where", ["nowhere", "another village"])
async def test_a_checkin_naming_a_photo_not_stored_in_its_village_is_refused(
    where, attendance, attendance_db, issuer
):
    photo = (
        "a" * 64 if where == "nowhere" else await stored_photo(attendance, region_code=VILLAGE_B)
    )

    response = await post_checkin(attendance, issuer, checkin_body(photo_sha256=photo))

    assert (response.status_code, response.json()["code"]) == (422, "photo_not_found")
    assert response.json()["errors"][0]["field"] == "photo_sha256"
    assert await count_rows(attendance_db, "checkin") == 0
    assert await count_rows(attendance_db, "outbox") == 0


@pytest.mark.parametrize("photo", ["A" * 64, "a" * 63, "not-a-hash"])
async def test_a_photo_hash_that_is_no_sha256_is_invalid(photo, attendance, attendance_db, issuer):
    response = await post_checkin(attendance, issuer, checkin_body(photo_sha256=photo))

    assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "photo_sha256")
    assert await count_rows(attendance_db, "checkin") == 0


async def test_the_offline_batch_judges_each_items_photo(attendance, attendance_db, issuer):
    sha256 = await stored_photo(attendance)
    cadre = str(uuid4())
    items = [
        checkin_body(cadre_id=cadre, photo_sha256=sha256, client_time=f"2026-11-2{day}T08:00:00Z")
        for day in range(3)
    ]
    items[2]["photo_sha256"] = "b" * 64

    answer = await attendance.post(
        "/api/v1/attendance/checkins/batch",
        json={"items": items},
        headers=as_cadre(issuer, items[0]),
    )

    results = answer.json()["results"]
    assert [(r["status"], (r["problem"] or {}).get("code")) for r in results] == [
        (201, None),
        (201, None),
        (422, "photo_not_found"),
    ]
    assert [r["checkin"]["photo_sha256"] for r in results[:2]] == [sha256, sha256]
    assert "photo_reused" not in results[0]["checkin"]["flags"]
    assert "photo_reused" in results[1]["checkin"]["flags"]  # the same photo the next day
    assert await count_rows(attendance_db, "checkin") == 2


def _file_type_box(major: bytes, *compatible: bytes) -> bytes:
    """The start of an ISO-BMFF file (HEIF, AVIF, MP4): its file type box."""
    brands = b"".join(compatible)
    return struct.pack(">I", 16 + len(brands)) + b"ftyp" + major + b"\x00\x00\x00\x00" + brands


SIGNATURES = {
    "JPEG": (jpeg_photo(), "image/jpeg"),
    "PNG": (png_photo(), "image/png"),
    "WebP, lossy": (b"RIFF\x1a\x00\x00\x00WEBPVP8 \x0e\x00\x00\x00", "image/webp"),
    "WebP, lossless": (b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0e\x00\x00\x00", "image/webp"),
    "HEIC": (_file_type_box(b"heic", b"mif1", b"heic"), "image/heic"),
    "HEIC, 10-bit": (_file_type_box(b"heix", b"mif1", b"heix"), "image/heic"),
    "HEIF naming HEVC": (_file_type_box(b"mif1", b"mif1", b"miaf", b"heic"), "image/heic"),
    "AVIF": (_file_type_box(b"avif", b"avif", b"mif1", b"miaf"), None),
    "an MP4 video": (_file_type_box(b"isom", b"isom", b"mp41"), None),
    "a file type box cut short": (_file_type_box(b"heic", b"mif1")[:12], None),
    "PNG's signature without its header chunk": (b"\x89PNG\r\n\x1a\n", None),
    "RIFF audio": (b"RIFF\x1a\x00\x00\x00WAVEfmt \x10\x00\x00\x00", None),
    "GIF": (b"GIF89a\x01\x00\x01\x00", None),
    "nothing": (b"", None),
}


@pytest.mark.parametrize("case", SIGNATURES)
def test_a_photo_is_known_by_its_signature(case):
    content, photo_type = SIGNATURES[case]

    assert sniffed_type(content) == photo_type


async def test_an_upload_cut_off_halfway_stores_nothing_and_is_no_server_error(
    attendance, attendance_db
):
    """A phone that loses its signal mid-upload: the body ends in a disconnect."""
    sent = [
        {"type": "http.request", "body": jpeg_photo()[:50], "more_body": True},
        {"type": "http.disconnect"},
    ]
    answer: list[dict] = []

    async def receive() -> dict:
        return sent.pop(0)

    async def send(message: dict) -> None:
        answer.append(message)

    headers = {k.encode(): v.encode() for k, v in attendance.headers.items()}
    await attendance._transport.app(
        {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": PHOTOS,
            "raw_path": PHOTOS.encode(),
            "root_path": "",
            "query_string": f"region_code={VILLAGE_A}".encode(),
            "headers": [*headers.items(), (b"content-type", b"image/jpeg")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        },
        receive,
        send,
    )

    assert answer[0]["status"] == 400
    assert await count_rows(attendance_db, "photo") == 0
