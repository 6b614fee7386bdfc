"""Database errors reach the caller as what they mean, never as a bare 500."""

import asyncpg
import pytest
from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.attendance.settings import AttendanceSettings
from services.common.db import Database, Session, driver, plain_url
from services.common.errors import database_problem
from services.common.kernel import create_service_app
from services.common.testing import FAST_SETTINGS, serving


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


async def test_a_database_error_in_a_route_is_a_problem_with_the_request_id(
    attendance_db, nats_url
):
    router = APIRouter()

    @router.get("/too-big")
    async def too_big(session: Session) -> dict:
        await (await driver(session)).execute("SELECT $1::int4", 2**40)
        return {}

    settings = AttendanceSettings(database_url=attendance_db, nats_url=nats_url, **FAST_SETTINGS)
    app = create_service_app(settings, title="t", description="t", routers=[router])
    async with serving(app) as client:
        response = await client.get("/api/v1/attendance/too-big", headers={"X-Request-ID": "r-1"})

    assert response.status_code == 422
    assert response.headers["x-request-id"] == "r-1"
    assert response.json()["request_id"] == "r-1"
    assert response.json()["code"] == "value_out_of_range"
