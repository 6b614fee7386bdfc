"""The one transaction per request holds for statements run on the raw asyncpg connection."""

import pytest
from sqlalchemy import text

from services.common.db import Database, driver
from services.common.testing import count_rows


class Boom(Exception):
    pass


async def test_raw_statements_roll_back_with_the_session(attendance_db):
    db = Database(attendance_db, pool_size=1)
    with pytest.raises(Boom):
        async with db.transaction() as session:
            connection = await driver(session)
            await connection.execute(
                "INSERT INTO inbox (consumer, event_id) VALUES ('t', gen_random_uuid())"
            )
            await session.execute(
                text("INSERT INTO inbox (consumer, event_id) VALUES ('t', gen_random_uuid())")
            )
            raise Boom
    await db.dispose()

    assert await count_rows(attendance_db, "inbox") == 0


async def test_raw_statements_commit_with_the_session(attendance_db):
    db = Database(attendance_db, pool_size=1)
    async with db.transaction() as session:
        connection = await driver(session)
        await connection.execute(
            "INSERT INTO inbox (consumer, event_id) VALUES ('t', gen_random_uuid())"
        )
        assert connection.is_in_transaction()
    await db.dispose()

    assert await count_rows(attendance_db, "inbox") == 1
