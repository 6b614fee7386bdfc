from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class AttendanceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ATTENDANCE_", extra="ignore")
    service_name = "attendance"
