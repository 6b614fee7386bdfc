"""The kernel's own tables, present in every service's database (infrastructure, no domain)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, Index, LargeBinary, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _now_column(nullable: bool = False) -> Any:
    return Column(
        DateTime(timezone=True),
        nullable=nullable,
        server_default=None if nullable else text("now()"),
    )


class Outbox(SQLModel, table=True):
    """An event written in the same transaction as the change it reports, waiting for the relay."""

    id: UUID = Field(primary_key=True)
    type: str
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_now_column())
    published_at: datetime | None = Field(default=None, sa_column=_now_column(nullable=True))

    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "created_at",
            postgresql_where=text("published_at IS NULL"),
        ),
    )


class Inbox(SQLModel, table=True):
    """An event a consumer has handled, recorded in the same transaction as its effects."""

    consumer: str = Field(primary_key=True)
    event_id: UUID = Field(primary_key=True)
    processed_at: datetime | None = Field(default=None, sa_column=_now_column())


class DeadLetter(SQLModel, table=True):
    """死信: an event a consumer failed on after its last delivery; listed and replayable."""

    __tablename__ = "dead_letter"

    id: UUID = Field(primary_key=True)
    consumer: str
    event_id: UUID
    event_type: str
    envelope: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    error: str
    deliveries: int
    created_at: datetime | None = Field(default=None, sa_column=_now_column())
    replayed_at: datetime | None = Field(default=None, sa_column=_now_column(nullable=True))

    __table_args__ = (
        Index("uq_dead_letter_consumer_event_id", "consumer", "event_id", unique=True),
    )


class JobRun(SQLModel, table=True):
    """One run of a periodic job for one period, claimed so that one replica runs it."""

    __tablename__ = "job_run"

    job_name: str = Field(primary_key=True)
    period: str = Field(primary_key=True)
    period_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str
    attempts: int = 1
    outcome: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    error: str | None = None
    started_at: datetime | None = Field(default=None, sa_column=_now_column())
    finished_at: datetime | None = Field(default=None, sa_column=_now_column(nullable=True))
