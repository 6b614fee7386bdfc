"""Sensitive fields shown: masked unless the role needs them clear; clear reads audited."""

import uuid
from dataclasses import dataclass

import asyncpg
import pytest

from services.common.auth import Caller
from services.common.db import Database, plain_url
from services.common.disclosure import PHONE, disclose
from services.common.permissions import permissions_of
from services.common.sensitive import SensitiveData, new_key

VAULT = SensitiveData([new_key()], new_key())


@dataclass
class Person:
    """A record holding a phone the way every table does: `phone_encrypted`."""

    id: uuid.UUID
    region_code: str
    phone_encrypted: bytes | None


def person(phone: str | None) -> Person:
    sealed = None if phone is None else VAULT.encrypt(phone)
    return Person(uuid.uuid4(), "511529100201", sealed)


def caller(role: str) -> Caller:
    return Caller(uuid.uuid4(), (role,), "511529", permissions_of([role]))


@pytest.fixture
async def db(database):
    db = Database(await database("notify"), pool_size=1)  # any service's: each has audit_entry
    yield db
    await db.dispose()


async def reads(db: Database) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_url(db.url))
    try:
        return await conn.fetch("SELECT action, user_id, target, region_code FROM audit_entry")
    finally:
        await conn.close()


async def test_a_role_without_the_permission_sees_masks_and_nothing_is_audited(db):
    people = [person("13812345678"), person(None)]

    async with db.transaction() as session:
        shown = await disclose(session, caller("inspector"), VAULT, PHONE, people)

    assert shown == ["138****5678", None]
    assert await reads(db) == []


async def test_each_clear_read_is_audited_once_per_record_that_has_a_value(db):
    people = [person("13812345678"), person(None), person("13987654321")]
    officer = caller("township_officer")

    async with db.transaction() as session:
        shown = await disclose(session, officer, VAULT, PHONE, people)

    assert shown == ["13812345678", None, "13987654321"]
    entries = await reads(db)
    assert sorted(e["target"] for e in entries) == sorted(str(p.id) for p in people[::2])
    assert {(e["action"], e["user_id"], e["region_code"]) for e in entries} == {
        ("sensitive.phone.read", officer.user_id, "511529100201")
    }


async def test_a_clear_read_of_nothing_writes_nothing(db):
    async with db.transaction() as session:
        shown = await disclose(session, caller("county_admin"), VAULT, PHONE, [person(None)])

    assert shown == [None]
    assert await reads(db) == []
