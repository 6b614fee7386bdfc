"""Settings: environment variables, one prefix per service, plus the shared ones."""

from typing import ClassVar, Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from services.common.db import on_database

Environment = Literal["dev", "test", "production"]

# Development defaults, public by being in the repository: a service refuses to start with
# them when ZHUCUN_ENV=production (STYLE.md, settings).
DEV_DATA_KEY = "ZGV2LW9ubHktZGF0YS1rZXktbm90LWEtc2VjcmV0ISE="
DEV_HASH_KEY = "dev-only-hash-key-never-use-it-in-production"
# The audit log is kept at least this long (issue 4); kernel_0003's trigger holds the same floor.
AUDIT_MIN_KEEP_DAYS = 180


class SharedSettings(BaseSettings):
    """The variables every process reads without a prefix (CONVENTIONS.md)."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str | None = None  # the server, as the role the services serve as
    zhucun_migration_database_url: str | None = None  # the server, as the tables' owner
    nats_url: str | None = None
    nats_stream_replicas: int = 1  # 3 on a NATS cluster (deploy/k8s): the event log kept R3
    zhucun_env: Environment = "dev"
    zhucun_data_keys: list[str] = [DEV_DATA_KEY]  # JSON list, newest first
    zhucun_hash_key: str = DEV_HASH_KEY
    zhucun_jwks_url: str = "http://127.0.0.1:8000/api/v1/auth/jwks"  # the gateway's keys


class ServiceSettings(BaseSettings):
    """What every service configures; a service subclasses it with its own `env_prefix`.

    `DATABASE_URL` names the PostgreSQL server; each service uses its own database on it
    (`zhucun_<service>`) unless `<PREFIX>DATABASE_URL` names one outright. Its user is the role
    the service serves as; `ZHUCUN_MIGRATION_DATABASE_URL` (or `<PREFIX>MIGRATION_DATABASE_URL`)
    names the role that owns the tables and migrates them (services/common/migrate.py), on the
    same database (a service whose database `<PREFIX>DATABASE_URL` names outright names its
    `<PREFIX>MIGRATION_DATABASE_URL` outright too). Unset, the one role does both.
    """

    model_config = SettingsConfigDict(extra="ignore")
    service_name: ClassVar[str]
    # The gateway signs the tokens and reads its keys from its own database: ZHUCUN_JWKS_URL is
    # its own address, not a source for it.
    signs_tokens: ClassVar[bool] = False

    database_url: str = ""
    migration_database_url: str = ""
    nats_url: str = ""
    stream_replicas: int = 0  # 0: NATS_STREAM_REPLICAS
    env: Environment = "dev"
    timezone: str = "Asia/Shanghai"
    # 敏感个人信息: keys that encrypt phones and ID numbers at rest, newest first (rotation),
    # and the key of their search hashes; ZHUCUN_DATA_KEYS / ZHUCUN_HASH_KEY unless prefixed.
    data_keys: list[str] = []
    hash_key: str = ""
    # Where the gateway publishes the keys that verify access tokens (ZHUCUN_JWKS_URL). The
    # gateway reads its own from its database; set for it, this names another issuer it trusts.
    auth_jwks_url: str = ""
    auth_keys_refetch_seconds: float = 5.0  # an unknown key id refetches at most this often
    log_level: str = "INFO"
    max_body_bytes: int = 1_048_576
    db_pool_size: int = 20
    relay_window: int = 256
    relay_batch: int = 256  # at most relay_window: a batch never waits on its own acks
    relay_poll_seconds: float = 2.0
    relay_ack_timeout_seconds: float = 5.0
    outbox_keep_hours: float = 72.0
    consumer_batch: int = 64
    consumer_max_deliveries: int = 5
    consumer_backoff_seconds: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
    consumer_ack_wait_seconds: float = 30.0
    consumer_fetch_timeout_seconds: float = 2.0
    # False: this process runs no periodic jobs (the tests run them when they mean to).
    jobs_enabled: bool = True
    jobs_tick_seconds: float = 30.0
    jobs_catch_up_periods: int = 31
    jobs_max_attempts: int = 5
    # 审计: entries older than this are pruned daily; the floor is 180 days, which
    # the audit table enforces too (kernel_0003: nothing younger can be deleted).
    audit_keep_days: int = 1095

    @field_validator("audit_keep_days")
    @classmethod
    def _keep_audit_long_enough(cls, days: int) -> int:
        if days < AUDIT_MIN_KEEP_DAYS:
            raise ValueError(f"audit entries are kept at least {AUDIT_MIN_KEEP_DAYS} days")
        return days

    @property
    def database_name(self) -> str:
        return f"zhucun_{self.service_name}"

    @property
    def database_role(self) -> str | None:
        """The role the service serves as: granted what it needs after each migration."""
        return make_url(self.database_url).username

    @model_validator(mode="after")
    def _fill_shared(self) -> "ServiceSettings":
        shared = SharedSettings()
        if not self.database_url:
            if not shared.database_url:
                raise ValueError("DATABASE_URL is not set")
            self.database_url = on_database(shared.database_url, self.database_name)
            if not self.migration_database_url and shared.zhucun_migration_database_url:
                migration = shared.zhucun_migration_database_url
                self.migration_database_url = on_database(migration, self.database_name)
        self.migration_database_url = self.migration_database_url or self.database_url
        if not self.nats_url:
            if not shared.nats_url:
                raise ValueError("NATS_URL is not set")
            self.nats_url = shared.nats_url
        if not self.stream_replicas:
            self.stream_replicas = shared.nats_stream_replicas
        if "env" not in self.model_fields_set:
            self.env = shared.zhucun_env
        if not self.auth_jwks_url and not self.signs_tokens:
            self.auth_jwks_url = shared.zhucun_jwks_url
        self.data_keys = self.data_keys or shared.zhucun_data_keys
        self.hash_key = self.hash_key or shared.zhucun_hash_key
        if self.env == "production" and (
            DEV_DATA_KEY in self.data_keys or self.hash_key == DEV_HASH_KEY
        ):
            raise ValueError(
                "refusing to run in production with the development keys: "
                "set ZHUCUN_DATA_KEYS and ZHUCUN_HASH_KEY"
            )
        return self
