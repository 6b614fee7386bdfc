"""Migrations: one alembic history per service, plus the kernel's tables in every database.

A service's versions live in `services/<name>/migrations/versions`; the kernel's (outbox, inbox,
dead letters, job runs) in `services/common/migrations/versions`, applied to every service's
database as a second branch. `upgrade("attendance", url)` brings one database to all heads.
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


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(service)))
    cfg.set_main_option(
        "version_locations", f"{KERNEL_VERSIONS} {migrations_dir(service) / 'versions'}"
    )
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["url"] = url
    return cfg


async def upgrade(service: str, url: str) -> None:
    """Create the service's database if missing and apply every migration to it."""
    await ensure_database(url)
    await asyncio.to_thread(command.upgrade, alembic_config(service, url), "heads")


def _run(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
    context.configure(
        connection=connection, target_metadata=SQLModel.metadata, transaction_per_migration=False
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online(url: str) -> None:
    engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run_env() -> None:
    """The body of every service's migrations/env.py."""
    asyncio.run(_online(context.config.attributes["url"]))
