"""Production (`ZHUCUN_ENV=production`): no process starts on the repository's development keys,
and the demo county brings no demo users."""

import importlib
import uuid

import asyncpg
import pytest

from services.common.db import plain_url
from services.common.sensitive import new_key
from services.common.testing import count_rows
from zhucun.seed import seed_demo_county
from zhucun.stack import APPS, database_url, prepare_databases


def factory(name: str):
    module, function = APPS[name].split(":")
    return getattr(importlib.import_module(module), function)


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("ZHUCUN_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://zhucun@127.0.0.1:1/postgres")
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:1")
    for variable in ("ZHUCUN_DATA_KEYS", "ZHUCUN_HASH_KEY"):
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


@pytest.mark.parametrize("name", APPS)
def test_no_service_starts_in_production_on_the_development_keys(name, production):
    with pytest.raises(ValueError, match="development keys"):
        factory(name)()

    production.setenv("ZHUCUN_DATA_KEYS", f'["{new_key()}"]')  # the hash key is still the default
    with pytest.raises(ValueError, match="development keys"):
        factory(name)()


@pytest.mark.parametrize("name", APPS)
def test_with_keys_of_its_own_a_service_is_built_in_production(name, production):
    production.setenv("ZHUCUN_DATA_KEYS", f'["{new_key()}"]')
    production.setenv("ZHUCUN_HASH_KEY", new_key())
    production.setenv("NOTIFY_CALLBACK_TOKEN", new_key())  # notify's providers' callbacks

    assert factory(name)().state.kernel.settings.env == "production"


def test_in_production_the_gateway_trusts_no_other_issuer(production):
    production.setenv("ZHUCUN_DATA_KEYS", f'["{new_key()}"]')
    production.setenv("ZHUCUN_HASH_KEY", new_key())
    production.setenv("GATEWAY_AUTH_JWKS_URL", "http://issuer.example/jwks")

    with pytest.raises(ValueError, match="another issuer"):
        factory("gateway")()


async def test_production_seeds_the_regions_but_no_demo_data(pg_url, nats_url, monkeypatch):
    monkeypatch.setenv("ZHUCUN_ENV", "production")
    monkeypatch.setenv("ZHUCUN_DATA_KEYS", f'["{new_key()}"]')
    monkeypatch.setenv("ZHUCUN_HASH_KEY", new_key())
    prefix = f"prod_{uuid.uuid4().hex[:8]}"
    await prepare_databases(pg_url, prefix)
    try:
        await seed_demo_county(pg_url, nats_url, prefix)

        gateway = database_url(pg_url, "gateway", prefix)
        assert await count_rows(gateway, "region", "level = 'township'") > 10
        assert await count_rows(gateway, "user_account") == 0
        assert await count_rows(database_url(pg_url, "attendance", prefix), "checkin") == 0
    finally:
        admin = await asyncpg.connect(plain_url(pg_url))
        for name in APPS:
            await admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)')
        await admin.close()
