"""Identifiers: UUIDv7, time-ordered, generated in the application."""

from uuid import UUID

from uuid_utils.compat import uuid7


def new_id() -> UUID:
    return uuid7()
