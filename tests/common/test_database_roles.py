"""Two database roles (issue 4): the owner migrates; the services serve as a role that owns
nothing, so it can read and add audit entries but never change, delete or unguard them."""

import asyncpg
import pytest

from services.common.db import plain_url
from services.common.devservers import RUNTIME_ROLE
from services.common.migrate import upgrade
from services.common.testing import count_rows
from tests.common.test_audit import days_ago, insert_entry


async def as_runtime(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(plain_url(url))
    assert await conn.fetchval("SELECT current_user") == RUNTIME_ROLE
    return conn


async def test_the_services_role_is_no_superuser_and_owns_nothing(attendance_db):
    conn = await as_runtime(attendance_db)
    try:
        role = await conn.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        )
        owned = await conn.fetchval(
            "SELECT count(*) FROM pg_class WHERE relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
    finally:
        await conn.close()

    assert dict(role) == {
        "rolsuper": False,
        "rolcreatedb": False,
        "rolcreaterole": False,
        "rolbypassrls": False,
    }
    assert owned == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entry SET action = 'forged'",
        "DELETE FROM audit_entry",
        "TRUNCATE audit_entry",
        "ALTER TABLE audit_entry DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_entry_kept ON audit_entry",
        "SET session_replication_role = replica",
        "UPDATE alembic_version SET version_num = 'kernel_0001'",
    ],
)
async def test_the_services_role_cannot_change_delete_or_unguard_the_log(attendance_db, statement):
    old = await insert_entry(attendance_db, at=days_ago(400))  # old enough to prune, even so
    conn = await as_runtime(attendance_db)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
        triggers = await conn.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_entry'::regclass "
            "AND tgenabled = 'O'"
        )
    finally:
        await conn.close()

    assert await count_rows(attendance_db, "audit_entry", "id = $1 AND action = 'test.act'", old)
    assert triggers == 2  # append-only and kept, both still enabled


async def test_the_services_role_adds_and_reads_entries(attendance_db):
    entry = await insert_entry(attendance_db, at=days_ago(0), region_code="511529100201")
    conn = await as_runtime(attendance_db)
    try:
        region = await conn.fetchval("SELECT region_code FROM audit_entry WHERE id = $1", entry)
    finally:
        await conn.close()

    assert region == "511529100201"


async def test_prune_deletes_only_entries_older_than_it_keeps_and_keeps_180_days_at_least(
    attendance_db,
):
    gone = await insert_entry(attendance_db, at=days_ago(201))
    kept = [await insert_entry(attendance_db, at=days_ago(days)) for days in (199, 181, 1)]
    conn = await as_runtime(attendance_db)
    try:
        for too_short in (179, 0, -1):
            with pytest.raises(asyncpg.InvalidParameterValueError, match="at least 180 days"):
                await conn.fetchval("SELECT audit_entry_prune($1)", too_short)
        deleted = await conn.fetchval("SELECT audit_entry_prune(200)")
    finally:
        await conn.close()

    assert deleted == 1
    assert await count_rows(attendance_db, "audit_entry", "id = $1", gone) == 0
    assert await count_rows(attendance_db, "audit_entry", "id = ANY($1)", kept) == 3


async def test_every_upgrade_grants_the_services_role_the_tables_made_since(
    attendance_db, as_owner
):
    owner = await asyncpg.connect(plain_url(as_owner(attendance_db)))
    try:  # a table a later migration would add
        await owner.execute("CREATE TABLE later (id integer GENERATED ALWAYS AS IDENTITY, x text)")
    finally:
        await owner.close()

    await upgrade("attendance", as_owner(attendance_db), serve_as=RUNTIME_ROLE)

    conn = await as_runtime(attendance_db)
    try:
        await conn.execute("INSERT INTO later (x) VALUES ('a'), ('b')")
        await conn.execute("UPDATE later SET x = 'c' WHERE id = 1")
        await conn.execute("DELETE FROM later WHERE id = 2")
        rows = await conn.fetch("SELECT id, x FROM later")
    finally:
        await conn.close()

    assert [tuple(r) for r in rows] == [(1, "c")]
