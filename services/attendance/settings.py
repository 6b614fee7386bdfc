from pydantic import PositiveInt
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class AttendanceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ATTENDANCE_", extra="ignore")
    service_name = "attendance"

    # 签到照片: the largest photo taken (ATTENDANCE_PHOTO_MAX_BYTES). A phone's 12-megapixel
    # JPEG is 3-5 MB, its HEIC half that; the service's limit for JSON bodies stays 1 MiB.
    # Above 16 MiB, raise the gateway's limit for the upload too (GATEWAY_BODY_LIMITS).
    photo_max_bytes: PositiveInt = 5 * 1024 * 1024
