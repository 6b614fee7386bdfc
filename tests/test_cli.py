"""`zhucun rotate-data-keys`, run as an operator runs it, on a gateway database."""

import asyncio
import json
import os
import sys

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from gateway.identity import tokens
from services.common.db import plain_url
from services.common.rekey import ROTATED
from services.common.sensitive import SensitiveData, new_key
from tests.gateway.factories import gateway_settings, make_user, transaction

OLD, NEW, HASH_KEY = new_key(), new_key(), new_key()


@pytest.fixture
def settings(gateway_db, nats_url):
    return gateway_settings(gateway_db, nats_url, data_keys=[OLD], hash_key=HASH_KEY)


@pytest.fixture
async def stored(settings):
    """Two phones and the signing key, all under the old key."""
    await make_user(settings, "a.one", phone="13800000001")
    await make_user(settings, "b.two", phone="13800000002")
    async with transaction(settings.database_url) as session:
        await tokens.current_key(session, SensitiveData([OLD], HASH_KEY))


async def rotate_data_keys(gateway_db: str, *keys: str) -> tuple[int, str, str]:
    """The verb in a process of its own, given the server and the keys as production does."""
    url = make_url(gateway_db)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "zhucun.cli",
        "rotate-data-keys",
        "--database-prefix",
        url.database.removesuffix("_gateway"),
        env={
            **os.environ,
            "DATABASE_URL": url.set(database="postgres").render_as_string(hide_password=False),
            "ZHUCUN_DATA_KEYS": json.dumps(keys),
            "ZHUCUN_HASH_KEY": HASH_KEY,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


async def fetch(url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()


async def sealed(url: str) -> list[bytes]:
    phones = await fetch(url, "SELECT phone_encrypted FROM user_account")
    keys = await fetch(url, "SELECT private_key_encrypted FROM signing_key")
    return [row[0] for row in phones + keys]


async def test_after_a_rotation_the_old_key_can_go(stored, gateway_db):
    code, out, err = await rotate_data_keys(gateway_db, NEW, OLD)

    assert code == 0, err
    assert "gateway: user_account.phone_encrypted: 2 rows re-encrypted" in out
    assert "gateway: signing_key.private_key_encrypted: 1 rows re-encrypted" in out
    newest_only = SensitiveData([NEW], HASH_KEY)
    opened = [newest_only.decrypt(each) for each in await sealed(gateway_db)]  # every row
    assert {"13800000001", "13800000002"} < set(opened)
    [entry] = await fetch(gateway_db, f"SELECT detail FROM audit_entry WHERE action = '{ROTATED}'")
    assert json.loads(entry["detail"]) == {
        "user_account.phone_encrypted": 2,
        "signing_key.private_key_encrypted": 1,
    }


async def test_running_it_again_changes_nothing_and_is_audited_again(stored, gateway_db):
    await rotate_data_keys(gateway_db, NEW, OLD)
    once = await sealed(gateway_db)

    code, out, _ = await rotate_data_keys(gateway_db, NEW, OLD)

    assert code == 0
    assert out.count(": 0 rows re-encrypted") == 2
    assert await sealed(gateway_db) == once
    entries = await fetch(gateway_db, f"SELECT id FROM audit_entry WHERE action = '{ROTATED}'")
    assert len(entries) == 2


async def test_a_key_missing_from_settings_fails_the_run_and_changes_nothing(stored, gateway_db):
    before = await sealed(gateway_db)

    code, out, err = await rotate_data_keys(gateway_db, NEW)  # the old key dropped too early

    assert code == 1
    assert "user_account.phone_encrypted" in err and "nothing changed" in err
    assert "gAAAA" not in err + out  # no ciphertext in the output
    assert await sealed(gateway_db) == before


async def test_notifys_phones_and_robot_keys_are_re_encrypted_too(
    stored, gateway_db, pg_url, templates
):
    """Notify keeps phones (re-sealed from identity's events, or uploaded) and the units'
    WeCom robot keys: the rotation covers its database as well."""
    notify_db = gateway_db.removesuffix("_gateway") + "_notify"
    name = make_url(notify_db).database
    admin = await asyncpg.connect(plain_url(pg_url))
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{templates["notify"]}"')
    old = SensitiveData([OLD], HASH_KEY)
    try:
        conn = await asyncpg.connect(plain_url(notify_db))
        try:
            await conn.execute(
                "INSERT INTO contact (id, kind, name, region_code, unit_code, phone_encrypted,"
                " wecom_key_encrypted, facts_at, updated_at) VALUES (gen_random_uuid(), 'unit',"
                " '县交通运输局', '511529000000', 'JT', $1, $2, now(), now())",
                old.encrypt("13900000001"),
                old.encrypt("robot-key-of-the-unit"),
            )
        finally:
            await conn.close()

        code, out, err = await rotate_data_keys(gateway_db, NEW, OLD)

        assert code == 0, err
        assert "notify: contact.phone_encrypted: 1 rows re-encrypted" in out
        assert "notify: contact.wecom_key_encrypted: 1 rows re-encrypted" in out
        [row] = await fetch(notify_db, "SELECT phone_encrypted, wecom_key_encrypted FROM contact")
        newest_only = SensitiveData([NEW], HASH_KEY)
        assert newest_only.decrypt(row[0]) == "13900000001"
        assert newest_only.decrypt(row[1]) == "robot-key-of-the-unit"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
