"""Migrations: one alembic history per service, plus the kernel's tables in every database.

A service's versions live in `services/<name>/migrations/versions`; the kernel's (outbox, inbox,
dead letters, job runs) in `services/common/migrations/versions`, applied to every service's
database as a second branch. `upgrade("attendance", url)` brings one database to all heads.

Two database roles (issue 4): the OWNER runs the migrations and owns every table; the services
serve as a RUNTIME role that owns nothing (`upgrade(..., serve_as=role)`). After every upgrade,
in its transaction, the runtime role is granted what the services need and no more: rows of
every table, but only SELECT and INSERT on audit_entry (pruned through `audit_entry_prune`,
kernel_0004) and only SELECT on alembic_version. Not owning the tables, it cannot disable or
drop the audit log's triggers; not a superuser, it cannot set session_replication_role.
"""

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from services.common.db import async_url, ensure_database

ROOT = Path(__file__).resolve().parents[2]
KERNEL_VERSIONS = ROOT / "services" / "common" / "migrations" / "versions"
# Serialises migrations of one database when several replicas start at once.
_MIGRATION_LOCK = 727_221


def migrations_dir(service: str) -> Path:
    base = ROOT / "gateway" if service == "gateway" else ROOT / "services" / service
    return base / "migrations"


def alembic_config(service: str, url: str, serve_as: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(service)))
    cfg.set_main_option(
        "version_locations", f"{KERNEL_VERSIONS} {migrations_dir(service) / 'versions'}"
    )
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["url"] = url
    cfg.attributes["serve_as"] = serve_as
    return cfg


async def upgrade(service: str, url: str, *, serve_as: str | None = None) -> None:
    """Create the service's database if missing and apply every migration to it, connected as
    `url`'s user (the owner); then grant the role `serve_as` (the user of the URL the service
    serves with) what serving needs. No grant when it is the owner itself, or None."""
    await ensure_database(url)
    await asyncio.to_thread(command.upgrade, alembic_config(service, url, serve_as), "heads")


def grant_runtime(connection: Connection, role: str) -> None:
    """Grant the runtime role what the services do at run time (idempotent: after every
    upgrade, so new tables are covered). LISTEN/NOTIFY and advisory locks need no grant;
    FOR UPDATE (SKIP LOCKED) needs UPDATE, which every table but the two below has."""
    quote = connection.dialect.identifier_preparer.quote
    who = quote(role)
    database = quote(connection.execute(text("SELECT current_database()")).scalar_one())
    for statement in (
        f"GRANT CONNECT ON DATABASE {database} TO {who}",
        f"GRANT USAGE ON SCHEMA public TO {who}",
        # Before PostgreSQL 15 everyone may create in public: objects the owner might then run.
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {who}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {who}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_entry FROM {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}",
        f"GRANT EXECUTE ON FUNCTION audit_entry_prune(integer) TO {who}",
    ):
        connection.execute(text(statement))


def _run(connection: Connection, serve_as: str | None) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
    context.configure(
        connection=connection, target_metadata=SQLModel.metadata, transaction_per_migration=False
    )
    with context.begin_transaction():
        context.run_migrations()
        owner = connection.execute(text("SELECT current_user")).scalar_one()
        if serve_as and serve_as != owner:
            grant_runtime(connection, serve_as)


async def _online(url: str, serve_as: str | None) -> None:
    engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run, serve_as)
        await connection.commit()
    await engine.dispose()


def run_env() -> None:
    """The body of every service's migrations/env.py."""
    attributes = context.config.attributes
    asyncio.run(_online(attributes["url"], attributes["serve_as"]))
