"""The database drops every connection (a restart, a failover): requests carry on."""

import asyncio

import asyncpg
from sqlalchemy.engine import make_url

from services.common.db import plain_url
from tests.attendance.factories import checkin_body, post_checkin


async def test_checkins_succeed_after_the_database_dropped_every_connection(
    attendance, attendance_db, issuer
):
    for _ in range(3):  # fill the pool with connections that are about to die
        assert (await post_checkin(attendance, issuer, checkin_body())).is_success
    name = make_url(attendance_db).database
    admin = await asyncpg.connect(plain_url(attendance_db))
    try:
        pids = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        for row in pids:  # and wait (up to 15 s) until each backend has gone
            await admin.execute("SELECT pg_terminate_backend($1, 15000)", row["pid"])
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # the app's side of each socket sees its end

    statuses = [
        (await post_checkin(attendance, issuer, checkin_body())).status_code for _ in range(5)
    ]

    assert statuses == [201] * 5
