"""Database errors reach the caller as what they mean, never as a bare 500."""

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.common.db import Database, driver, plain_url
from services.common.errors import database_problem


async def test_a_value_the_database_cannot_take_is_the_callers_422(attendance_db):
    conn = await asyncpg.connect(plain_url(attendance_db))
    try:
        with pytest.raises(asyncpg.DataError) as raised:
            await conn.execute("SELECT $1::int4", 2**40)
    finally:
        await conn.close()

    assert (database_problem(raised.value).status, database_problem(raised.value).code) == (
        422,
        "value_out_of_range",
    )


async def test_a_lost_connection_is_503_whichever_layer_reports_it(attendance_db):
    db = Database(attendance_db, pool_size=1)
    with pytest.raises(DBAPIError):  # the commit, on the closed connection
        async with db.transaction() as session:
            connection = await driver(session)
            await connection.close()
            with pytest.raises(asyncpg.InterfaceError) as raw:
                await connection.execute("SELECT 1")
    with pytest.raises(DBAPIError) as wrapped:
        async with db.transaction() as session:
            await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
            await session.execute(text("SELECT 1"))
    await db.dispose()
    raw_error, sqlalchemy_error = raw.value, wrapped.value

    for error in (raw_error, sqlalchemy_error):
        problem = database_problem(error)
        assert (problem.status, problem.code) == (503, "database_unavailable"), repr(error)
        assert problem.headers == {"Retry-After": "5"}


def test_anything_else_is_a_500_without_details():
    problem = database_problem(KeyError("secret internals"))

    assert (problem.status, problem.code) == (500, "internal_error")
    assert "secret" not in problem.detail
