from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, DateTime, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


class AlertRoute(SQLModel, table=True):
    """预警路由: an event type, who among its parties is told (`recipients`: cadre,
    contact_leader, branch_secretary, dispatching_unit, township), with which template,
    through which channels in order of preference."""

    __tablename__ = "alert_route"

    id: UUID = Field(primary_key=True)
    event_type: str
    recipients: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    template_code: str
    channels: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    enabled: bool = True
    updated_by: UUID | None = None
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
