"""Settings: the shared variables, one prefix per service, one database per service."""

import pytest

from gateway.settings import GatewaySettings
from services.attendance.settings import AttendanceSettings
from services.notify.settings import NotifySettings


@pytest.fixture
def shared(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://zhucun:s3cret@db.example:5432/postgres")
    monkeypatch.setenv("NATS_URL", "nats://nats:4222")
    monkeypatch.setenv("ZHUCUN_ENV", "production")
    monkeypatch.setenv("ZHUCUN_DATA_KEYS", '["6acJZzCcAkELu5Jzgp4wsRUmsg5S484k7Z52t_oFMQA="]')
    monkeypatch.setenv("ZHUCUN_HASH_KEY", "a-hash-key-of-this-county")


def test_each_service_uses_its_own_database_on_the_shared_server(shared):
    attendance, notify = AttendanceSettings(), NotifySettings()

    assert attendance.database_url == "postgresql://zhucun:s3cret@db.example:5432/zhucun_attendance"
    assert notify.database_url.endswith("/zhucun_notify")
    assert attendance.nats_url == notify.nats_url == "nats://nats:4222"
    assert attendance.env == "production"
    assert attendance.stream_replicas == 1


def test_a_prefixed_variable_overrides_the_shared_one_for_that_service_only(shared, monkeypatch):
    monkeypatch.setenv("NOTIFY_DATABASE_URL", "postgresql://other/notify_db")
    monkeypatch.setenv("GATEWAY_UPSTREAM_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("NATS_STREAM_REPLICAS", "3")

    assert NotifySettings().database_url == "postgresql://other/notify_db"
    assert AttendanceSettings().database_url.endswith("/zhucun_attendance")
    assert GatewaySettings().upstream_timeout_seconds == 3.0
    assert AttendanceSettings().stream_replicas == 3


def test_a_service_without_a_database_refuses_to_start(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("NATS_URL", "nats://nats:4222")

    with pytest.raises(ValueError, match="DATABASE_URL is not set"):
        AttendanceSettings()


def test_production_refuses_the_development_keys(shared, monkeypatch):
    monkeypatch.delenv("ZHUCUN_DATA_KEYS")

    with pytest.raises(ValueError, match="development keys"):
        AttendanceSettings()
    monkeypatch.setenv("ZHUCUN_ENV", "dev")
    assert AttendanceSettings().data_keys  # the development key, outside production


def test_without_a_migration_url_the_one_role_migrates_and_serves(shared):
    attendance = AttendanceSettings()

    assert attendance.migration_database_url == attendance.database_url
    assert attendance.database_role == "zhucun"


def test_the_owner_migrates_each_services_database_and_the_runtime_role_serves_it(
    shared, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", "postgresql://zhucun_service:pw@db.example:5432/postgres")
    monkeypatch.setenv("ZHUCUN_MIGRATION_DATABASE_URL", "postgresql://zhucun:s3cret@db.example/x")
    monkeypatch.setenv("NOTIFY_DATABASE_URL", "postgresql://zhucun_service:pw@other/notify_db")
    monkeypatch.setenv("GATEWAY_MIGRATION_DATABASE_URL", "postgresql://owner@gw/gateway_db")
    attendance, notify, gateway = AttendanceSettings(), NotifySettings(), GatewaySettings()

    assert attendance.database_role == "zhucun_service"
    assert (
        attendance.migration_database_url
        == "postgresql://zhucun:s3cret@db.example/zhucun_attendance"
    )
    assert notify.migration_database_url == notify.database_url  # named outright: set its own
    assert gateway.migration_database_url == "postgresql://owner@gw/gateway_db"
    assert gateway.database_url.endswith("/zhucun_gateway")


def test_notify_migrates_without_a_callback_token_but_will_not_serve_without_one(
    shared, monkeypatch
):
    from services.notify.app import create_app

    settings = NotifySettings()  # what `zhucun migrate notify` needs
    with pytest.raises(ValueError, match="NOTIFY_CALLBACK_TOKEN"):
        create_app(settings)
    monkeypatch.setenv("NOTIFY_CALLBACK_TOKEN", "a-secret-of-this-county")
    monkeypatch.setenv("ZHUCUN_HASH_KEY", "a-hash-key-of-this-county-32-chars-long")
    assert create_app(NotifySettings())
