from collections.abc import Mapping
from datetime import timedelta
from typing import ClassVar

from pydantic import PositiveFloat, PositiveInt, model_validator
from pydantic_settings import SettingsConfigDict

from gateway.identity.service import Policy
from gateway.ratelimit import Buckets, RateLimits
from services.common.settings import ServiceSettings

SERVICES = ("attendance", "households", "inspections", "notify")


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")
    service_name = "gateway"
    signs_tokens: ClassVar[bool] = True

    attendance_url: str = "http://127.0.0.1:8101"
    households_url: str = "http://127.0.0.1:8102"
    inspections_url: str = "http://127.0.0.1:8103"
    notify_url: str = "http://127.0.0.1:8104"
    upstream_connect_timeout_seconds: float = 2.0
    upstream_timeout_seconds: float = 15.0
    upstream_pool_size: int = 200
    # Paths whose bodies may be larger than MAX_BODY_BYTES, path -> bytes (GATEWAY_BODY_LIMITS,
    # a JSON object): a check-in photo, an uploaded list of people to greet. Above the
    # service's own limit for each (attendance's ATTENDANCE_PHOTO_MAX_BYTES, 5 MiB; notify's
    # 20 MiB for a list), so that the service refuses a file too large, with its own problem
    # (photo_too_large, contact_list_too_large), and the gateway only what no service would take.
    body_limits: Mapping[str, PositiveInt] = {
        "/api/v1/attendance/photos": 16 * 1024 * 1024,
        "/api/v1/notify/contact-lists": 24 * 1024 * 1024,
    }
    access_token_minutes: float = 15
    refresh_token_days: float = 14
    lockout_failures: int = 5
    lockout_window_minutes: float = 15
    lockout_minutes: float = 15
    # How often the gateway rereads the sign-ins that have ended (their tokens are refused).
    session_recheck_seconds: PositiveFloat = 2.0
    # Longer than a service waits between two looks at the keys (AUTH_KEYS_REFETCH_SECONDS is
    # about when it refetches on an unknown key id; this, that the key is there when it does).
    signing_key_published_ahead_seconds: PositiveFloat = 10
    # An API key is exchanged for a token of this life; the gateway checks the key with its
    # database again at most this often (a revocation holds within it), and records its use
    # at most once in the last.
    api_key_token_minutes: float = 5
    api_key_recheck_seconds: float = 5
    api_key_touch_seconds: float = 60
    # Requests a second and bursts, per gateway replica, far above what people and integrations
    # send: per signed-in user, per API key, per client address without a valid token.
    rate_limit_user_per_second: PositiveFloat = 20
    rate_limit_user_burst: PositiveInt = 100
    rate_limit_api_key_per_second: PositiveFloat = 50
    rate_limit_api_key_burst: PositiveInt = 200
    rate_limit_anonymous_per_second: PositiveFloat = 5
    rate_limit_anonymous_burst: PositiveInt = 30
    # the SMS and WeChat providers' pushes to notify, per sending address
    rate_limit_callback_per_second: PositiveFloat = 500
    rate_limit_callback_burst: PositiveInt = 2000

    @model_validator(mode="after")
    def _key_tokens_verify_through_a_rotation(self) -> "GatewaySettings":
        # A retired signing key stays published for an access token's life: no token may
        # outlive that, or a rotation would cut an integration off.
        if self.api_key_token_minutes > self.access_token_minutes:
            raise ValueError("api_key_token_minutes must not exceed access_token_minutes")
        # GATEWAY_AUTH_JWKS_URL makes the gateway trust another issuer's tokens too (the tests'
        # issuer): never in production, where only the gateway's own keys sign.
        if self.env == "production" and self.auth_jwks_url:
            raise ValueError(
                "refusing to trust another issuer in production: unset GATEWAY_AUTH_JWKS_URL"
            )
        return self

    def policy(self) -> Policy:
        return Policy(
            access_ttl=timedelta(minutes=self.access_token_minutes),
            refresh_ttl=timedelta(days=self.refresh_token_days),
            lockout_failures=self.lockout_failures,
            lockout_window=timedelta(minutes=self.lockout_window_minutes),
            lockout_for=timedelta(minutes=self.lockout_minutes),
            key_published_ahead=timedelta(seconds=self.signing_key_published_ahead_seconds),
        )

    def rate_limits(self) -> RateLimits:
        return RateLimits(
            user=Buckets(self.rate_limit_user_per_second, self.rate_limit_user_burst),
            api_key=Buckets(self.rate_limit_api_key_per_second, self.rate_limit_api_key_burst),
            anonymous=Buckets(
                self.rate_limit_anonymous_per_second, self.rate_limit_anonymous_burst
            ),
            callbacks=Buckets(self.rate_limit_callback_per_second, self.rate_limit_callback_burst),
        )

    def upstream_urls(self) -> dict[str, str]:
        return {name: getattr(self, f"{name}_url").rstrip("/") for name in SERVICES}
