from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, DateTime, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel


class Template(SQLModel, table=True):
    """消息模板: a message's wording for one channel. `purpose` is `greeting` or the event type
    it alerts about, and fixes which variables it may use. SMS names the provider's approved
    template (`provider_template_code`) and the sign (签名) that prefixes it."""

    id: UUID = Field(primary_key=True)
    code: str
    channel: str
    purpose: str
    name: str
    body: str
    variables: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    provider_template_code: str | None = None
    # The provider template's variables in order, each a Jinja2 expression of ours:
    # [{"name": "thing1", "value": "{{ cadre_name }}"}]. Empty: the variables the body uses.
    provider_params: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False)
    )
    sign_name: str | None = None
    max_parts: int = 3
    updated_by: UUID | None = None
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
