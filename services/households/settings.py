from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class HouseholdsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HOUSEHOLDS_", extra="ignore")
    service_name = "households"
