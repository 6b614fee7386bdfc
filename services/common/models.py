"""The kernel's tables that are read through the ORM (dead letters, job runs, audit entries). The
outbox, inbox and audit tables are written with plain SQL on the hot paths; all of them are
defined by services/common/migrations."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, Index, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _now_column(nullable: bool = False) -> Any:
    return Column(
        DateTime(timezone=True),
        nullable=nullable,
        server_default=None if nullable else text("now()"),
    )


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


class AuditEntry(SQLModel, table=True):
    """审计记录: one act, by whom, from where, through which route, on which record. Written by
    services.common.audit (never through the ORM), read by its list route; never changed."""

    __tablename__ = "audit_entry"

    id: UUID = Field(primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    action: str
    actor: str | None = None
    user_id: UUID | None = None
    source: str | None = None
    request_id: str | None = None
    route: str | None = None
    target: str | None = None
    region_code: str | None = Field(default=None, max_length=12)
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
