from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from services.attendance.schemas import PhotoSha256

PhotoType = Literal["image/jpeg", "image/png", "image/webp", "image/heic"]
PHOTO_TYPES: tuple[PhotoType, ...] = get_args(PhotoType)


class PhotoPublic(BaseModel):
    """照片: what a check-in names it by (its SHA-256), and what it is."""

    model_config = ConfigDict(from_attributes=True)

    sha256: PhotoSha256
    content_type: PhotoType
    size_bytes: int = Field(description="字节数")
    uploaded_at: datetime = Field(description="首次上传的时间")
