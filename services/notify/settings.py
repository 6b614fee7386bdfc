from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")
    service_name = "notify"
