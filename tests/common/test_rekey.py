"""Re-encrypting stored sensitive fields under the newest data key, so an old key can go."""

import asyncpg
import pytest

from services.common.db import plain_url
from services.common.rekey import reencrypt
from services.common.sensitive import DecryptionFailed, SensitiveData, new_key
from tests.gateway.factories import gateway_settings, make_user, transaction

OLD, NEW, HASH_KEY = new_key(), new_key(), new_key()
PHONES = {"a.one": "13800000001", "b.two": "13800000002", "c.three": "13800000003"}


@pytest.fixture
def settings(gateway_db, nats_url):
    return gateway_settings(gateway_db, nats_url, data_keys=[OLD], hash_key=HASH_KEY)


async def sealed_phones(url: str) -> dict[str, bytes | None]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        rows = await conn.fetch("SELECT login, phone_encrypted FROM user_account")
    finally:
        await conn.close()
    return {row["login"]: row["phone_encrypted"] for row in rows}


async def rotate(url: str, vault: SensitiveData) -> int:
    async with transaction(url) as session:
        return await reencrypt(session, vault, "user_account", "phone_encrypted", "id", batch=2)


async def test_every_stored_value_moves_to_the_newest_key_batch_by_batch(settings, gateway_db):
    for login, phone in PHONES.items():
        await make_user(settings, login, phone=phone)
    await make_user(settings, "d.new", phone="13800000004", vault=SensitiveData([NEW], HASH_KEY))
    await make_user(settings, "e.none")
    before = await sealed_phones(gateway_db)

    changed = await rotate(gateway_db, SensitiveData([NEW, OLD], HASH_KEY))

    after = await sealed_phones(gateway_db)
    newest_only = SensitiveData([NEW], HASH_KEY)
    assert changed == 3
    assert {login: newest_only.decrypt(after[login]) for login in PHONES} == PHONES
    assert after["d.new"] == before["d.new"]  # already under the newest key: left as it is
    assert after["e.none"] is None


async def test_a_second_run_changes_nothing(settings, gateway_db):
    await make_user(settings, phone="13800000001")
    vault = SensitiveData([NEW, OLD], HASH_KEY)
    assert await rotate(gateway_db, vault) == 1
    once = await sealed_phones(gateway_db)

    assert await rotate(gateway_db, vault) == 0
    assert await sealed_phones(gateway_db) == once


async def test_a_row_no_key_opens_stops_the_run_and_names_the_row(settings, gateway_db):
    await make_user(settings, "a.one", phone="13800000001")
    foreign = SensitiveData([new_key()], HASH_KEY)
    stranger = await make_user(settings, "b.two", phone="13800000002", vault=foreign)
    before = await sealed_phones(gateway_db)

    with pytest.raises(DecryptionFailed) as failed:
        await rotate(gateway_db, SensitiveData([NEW, OLD], HASH_KEY))

    assert failed.value.__notes__ == [f"user_account.phone_encrypted, id {stranger}"]
    assert await sealed_phones(gateway_db) == before  # rolled back, the other row too
