"""签到照片: check-in photos stored by their content; plain functions that take a session and
never commit.

What an upload is gets read from its own bytes (the signature each format begins with), not
taken from the Content-Type it came with: the photos are served back to browsers, which must
never be handed a page or a script that called itself an image.
"""

import hashlib
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.attendance.photos.models import Photo
from services.attendance.photos.schemas import PHOTO_TYPES, PhotoPublic, PhotoType
from services.common import audit
from services.common.auth import Caller, check_writable, one_scoped
from services.common.errors import (
    Conflict,
    Invalid,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)

# HEIF's brands of HEVC-coded images (ISO/IEC 23008-12: still images, multi-layer ones,
# sequences). The generic HEIF brands (mif1, msf1) lead AVIF files too: alone, no HEIC.
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_WEBP_CHUNKS = (b"VP8 ", b"VP8L", b"VP8X")  # lossy, lossless, extended
_PUBLIC = (Photo.sha256, Photo.content_type, Photo.size_bytes, Photo.uploaded_at)


def sniffed_type(content: bytes) -> PhotoType | None:
    """The photo type the bytes are by their signature, whatever they were sent as: JPEG's
    start-of-image marker, PNG's signature and first chunk (IHDR), a RIFF file of WebP with
    its first chunk, an ISO-BMFF file type box naming an HEVC-coded HEIF brand; else None."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        return "image/png"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP" and content[12:16] in _WEBP_CHUNKS:
        return "image/webp"
    if _HEVC_BRANDS & _file_type_brands(content):
        return "image/heic"
    return None


def _file_type_brands(content: bytes) -> frozenset[bytes]:
    """The brands of an ISO-BMFF file's first box if it is a whole file type box (`ftyp`):
    the major brand, then after the minor version the compatible ones, four bytes each."""
    size = int.from_bytes(content[:4], "big")
    if content[4:8] != b"ftyp" or not 16 <= size <= len(content):
        return frozenset()
    compatible = content[16:size]
    return frozenset([content[8:12], *(compatible[i : i + 4] for i in range(0, size - 19, 4))])


def declared_type(content_type: str | None) -> PhotoType:
    """The photo type a request's Content-Type names (its parameters aside); 415 for any
    other, or none."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type not in PHOTO_TYPES:
        accepted = ", ".join(PHOTO_TYPES)
        raise UnsupportedMediaType(
            f"照片须以 {accepted} 之一上传",
            code="photo_type_unsupported",
            headers={"Accept-Post": accepted},
        )
    return cast(PhotoType, media_type)


def photo_too_large(max_bytes: int) -> PayloadTooLarge:
    """The 413 for a photo over `max_bytes` (ATTENDANCE_PHOTO_MAX_BYTES)."""
    return PayloadTooLarge(
        f"照片不能超过 {max_bytes} 字节（{max_bytes / 2**20:.1f} MiB）", code="photo_too_large"
    )


def check_may_upload(caller: Caller, region_code: str) -> None:
    """A photo is uploaded for a village within the caller's region (403 otherwise)."""
    check_writable(caller, region_code)


async def store_photo(
    session: AsyncSession,
    content: bytes,
    content_type: PhotoType,
    region_code: str,
    caller: Caller,
    *,
    max_bytes: int,
) -> tuple[PhotoPublic, bool]:
    """Store a photo under the SHA-256 of its bytes, once they prove to be the image they were
    sent as (422) and no larger than `max_bytes` (413). The same bytes again store nothing and
    return the stored photo (False); bytes another region stored are its own (409)."""
    if not content:
        raise Invalid("照片为空", code="photo_empty")
    if len(content) > max_bytes:
        raise photo_too_large(max_bytes)
    found = sniffed_type(content)
    if found is None:
        raise Invalid("上传的内容不是 JPEG、PNG、WebP 或 HEIC 图片", code="photo_not_image")
    if found != content_type:
        raise Invalid(
            f"照片的内容是 {found}，与所声明的 {content_type} 不符", code="photo_type_mismatch"
        )
    sha256 = hashlib.sha256(content).hexdigest()
    stored = (
        await session.execute(
            insert(Photo)
            .values(
                sha256=sha256,
                content=content,
                content_type=content_type,
                size_bytes=len(content),
                uploaded_by=caller.user_id,
                region_code=region_code,
                uploaded_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing(index_elements=["sha256"])
            .returning(*_PUBLIC)
        )
    ).one_or_none()
    if stored is not None:
        await audit.record(
            session,
            action="attendance.photo.uploaded",
            user_id=caller.user_id,
            target=sha256,
            region_code=region_code,
            detail={"content_type": content_type, "size_bytes": len(content)},
        )
        return PhotoPublic.model_validate(stored), True
    before = (
        await session.execute(select(*_PUBLIC, Photo.region_code).where(Photo.sha256 == sha256))
    ).one()
    if not caller.covers(before.region_code):
        # Another region's photo: not the caller's to see, and its key cannot hold a second.
        raise Conflict("这张照片已由其他村上传", code="photo_stored_elsewhere")
    return PhotoPublic.model_validate(before), False


async def get_photo(session: AsyncSession, sha256: str, caller: Caller) -> Photo:
    """The photo, if it was stored within the caller's region (outside it: as if it were not)."""
    missing = NotFound("照片不存在", code="photo_not_found")
    return await one_scoped(session, Photo, sha256, caller, missing)


async def check_stored(session: AsyncSession, sha256: str | None, region_code: str) -> None:
    """A photo a record names (a spot check's) must have been uploaded within its village."""
    if sha256 is None:
        return
    photo = await session.get(Photo, sha256)
    if photo is None or not region_code.startswith(photo.region_code):
        raise Invalid(
            "照片不存在：请先上传照片",
            code="photo_not_found",
            errors=[{"field": "photo_sha256", "message": "no such photo in the village"}],
        )
