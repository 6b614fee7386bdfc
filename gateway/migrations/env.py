"""Alembic environment of the gateway database: the kernel's runner does the work."""

from services.common.migrate import run_env

run_env()
