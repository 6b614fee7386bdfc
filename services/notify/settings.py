from datetime import time
from decimal import Decimal
from typing import Literal

from pydantic import PositiveFloat, PositiveInt, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings
from services.notify.providers.aliyun import AliyunConfig
from services.notify.providers.tencent import TencentConfig
from services.notify.providers.wechat import WeChatConfig
from services.notify.providers.wecom import WeComConfig

DEV_CALLBACK_TOKEN = "dev-callback-token-not-for-production"


class NotifySettings(ServiceSettings):
    # NOTIFY_ALIYUN__ACCESS_KEY_ID, NOTIFY_TENCENT__SECRET_KEY, ...: a provider's account
    model_config = SettingsConfigDict(
        env_prefix="NOTIFY_", extra="ignore", env_nested_delimiter="__"
    )
    service_name = "notify"

    # Which provider each channel leaves by; `console` (the log) needs no account.
    sms_provider: Literal["console", "aliyun", "tencent"] = "console"
    wechat_provider: Literal["console", "wechat"] = "console"
    wecom_provider: Literal["console", "wecom"] = "console"
    aliyun: AliyunConfig | None = None
    tencent: TencentConfig | None = None
    wechat: WeChatConfig | None = None
    wecom: WeComConfig = WeComConfig()  # a robot's key is each unit's own (contacts)

    # 免打扰: greetings wait out these hours (county time), unless a county sets its own.
    quiet_starts: time = time(21, 0)
    quiet_ends: time = time(8, 0)

    # Delivery: tries on temporary errors, the waits between them, how long a claimed send
    # may take before another process takes it over, how often an idle sender looks again.
    send_max_attempts: PositiveInt = 5
    send_backoff_seconds: tuple[PositiveFloat, ...] = (5.0, 30.0, 120.0, 600.0)
    send_lease_seconds: PositiveFloat = 120.0
    dispatch_poll_seconds: PositiveFloat = 1.0
    dispatch_enabled: bool = True  # False: this process queues but does not send

    # The token the providers' callbacks (receipts, replies) carry in their URL.
    callback_token: SecretStr = SecretStr(DEV_CALLBACK_TOKEN)
    # What one SMS part costs (yuan), for a campaign's preview.
    sms_price_per_part: Decimal = Decimal("0.045")

    @model_validator(mode="after")
    def _accounts_for_the_providers(self) -> "NotifySettings":
        for chosen in (self.sms_provider, self.wechat_provider):
            if chosen != "console" and getattr(self, chosen) is None:
                raise ValueError(
                    f"NOTIFY_{chosen.upper()}__... must be set to send through {chosen}"
                )
        return self

    @model_validator(mode="after")
    def _no_default_token_in_production(self) -> "NotifySettings":
        if self.env == "production" and (
            self.callback_token.get_secret_value() == DEV_CALLBACK_TOKEN
        ):
            raise ValueError("refusing to run in production with the development callback token")
        return self
