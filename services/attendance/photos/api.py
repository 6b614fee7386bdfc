from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.requests import ClientDisconnect

from services.attendance.photos import service
from services.attendance.photos.schemas import PHOTO_TYPES, PhotoPublic
from services.attendance.roster.schemas import VillageCode
from services.attendance.schemas import PhotoSha256
from services.common.auth import Caller, require
from services.common.db import Session
from services.common.errors import BadRequest
from services.common.middleware import BodyLimit
from services.common.permissions import Permission

router = APIRouter(tags=["photos"])
PHOTOS = "/api/v1/attendance/photos"
_IMAGE = {"schema": {"type": "string", "format": "binary"}}
# Content-addressed: what a hash names never changes (private: each read is scoped).
_CACHE = "private, max-age=31536000, immutable"


def body_limit(max_bytes: int) -> BodyLimit:
    """The upload's own body limit, above the service's for JSON, refused as `photo_too_large`
    (by its Content-Length, or as it streams in) before the route reads it."""
    return BodyLimit(max_bytes, partial(service.photo_too_large, max_bytes))


@router.post(
    "/photos",
    status_code=201,
    summary="上传照片 / Upload a check-in's or spot check's photo: the image itself as the body",
    responses={200: {"description": "The same bytes were stored before: the stored photo"}},
    openapi_extra={
        "requestBody": {"required": True, "content": dict.fromkeys(PHOTO_TYPES, _IMAGE)}
    },
)
async def upload_photo(
    request: Request,
    region_code: Annotated[VillageCode, Query(description="拍摄所在村的区划代码")],
    session: Session,
    response: Response,
    caller: Caller = require(Permission.PHOTO_UPLOAD),
) -> PhotoPublic:
    # The scope and the type are checked before the body is read: a refused upload is not
    # received first (a phone that sent `Expect: 100-continue` does not even send it).
    service.check_may_upload(caller, region_code)
    photo_type = service.declared_type(request.headers.get("content-type"))
    try:
        content = await request.body()
    except ClientDisconnect:  # the phone lost its signal halfway: nobody is left to answer
        raise BadRequest("照片未传完", code="photo_incomplete") from None
    max_bytes = request.app.state.kernel.settings.photo_max_bytes
    photo, created = await service.store_photo(
        session, content, photo_type, region_code, caller, max_bytes=max_bytes
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"{PHOTOS}/{photo.sha256}"
    return photo


@router.get(
    "/photos/{sha256}",
    summary="签到照片 / A check-in photo's image, as it was uploaded",
    response_class=Response,
    responses={200: {"content": dict.fromkeys(PHOTO_TYPES, _IMAGE), "description": "The image"}},
)
async def get_photo(
    sha256: Annotated[PhotoSha256, Path()],
    session: Session,
    caller: Caller = require(Permission.CHECKIN_READ_POSITION),
) -> Response:
    photo = await service.get_photo(session, sha256, caller)
    return Response(
        photo.content,
        media_type=photo.content_type,
        # Its type was read from its bytes: no browser is to guess another.
        headers={"Cache-Control": _CACHE, "X-Content-Type-Options": "nosniff"},
    )
