from datetime import timedelta

from pydantic_settings import SettingsConfigDict

from gateway.identity.service import Policy
from services.common.settings import ServiceSettings

SERVICES = ("attendance", "households", "inspections", "notify")


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")
    service_name = "gateway"

    attendance_url: str = "http://127.0.0.1:8101"
    households_url: str = "http://127.0.0.1:8102"
    inspections_url: str = "http://127.0.0.1:8103"
    notify_url: str = "http://127.0.0.1:8104"
    upstream_connect_timeout_seconds: float = 2.0
    upstream_timeout_seconds: float = 15.0
    upstream_pool_size: int = 200
    access_token_minutes: float = 15
    refresh_token_days: float = 14
    lockout_failures: int = 5
    lockout_window_minutes: float = 15
    lockout_minutes: float = 15

    def policy(self) -> Policy:
        return Policy(
            access_ttl=timedelta(minutes=self.access_token_minutes),
            refresh_ttl=timedelta(days=self.refresh_token_days),
            lockout_failures=self.lockout_failures,
            lockout_window=timedelta(minutes=self.lockout_window_minutes),
            lockout_for=timedelta(minutes=self.lockout_minutes),
        )

    def upstream_urls(self) -> dict[str, str]:
        return {name: getattr(self, f"{name}_url").rstrip("/") for name in SERVICES}
