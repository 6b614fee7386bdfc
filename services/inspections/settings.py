from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class InspectionsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INSPECTIONS_", extra="ignore")
    service_name = "inspections"
