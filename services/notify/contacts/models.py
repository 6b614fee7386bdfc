from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Column, DateTime, LargeBinary, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from services.common.rekey import EncryptedColumn


def _moment(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class Contact(SQLModel, table=True):
    """联系人: a person (or a dispatching unit) notify can reach, and by which channels.

    `kind`: `user` (a user of the system, kept from identity's events: `id` is the user's id),
    `listed` (a row of an uploaded list), `unit` (a dispatching unit, 派出单位, reached through
    its liaison's phone or its WeCom group robot)."""

    id: UUID = Field(primary_key=True)
    kind: str
    name: str
    region_code: str = Field(max_length=12)
    roles: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    list_id: UUID | None = Field(default=None, foreign_key="contact_list.id")
    unit_code: str | None = None
    phone_encrypted: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    phone_hash: str | None = None
    phone_masked: str | None = None
    wechat_openid: str | None = None
    wecom_key_encrypted: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # The channels to try, in order (sms, wechat, wecom). Only an order the person (or the
    # county for them) chose (`channels_chosen`, PUT /contacts/{id}/preferences) leads a
    # route's or a campaign's; the defaults a contact starts with do not.
    channels: list[str] = Field(
        default_factory=lambda: ["sms"], sa_column=Column(ARRAY(String), nullable=False)
    )
    channels_chosen: bool = False
    away: bool = False  # 在外: working away from home (an uploaded list says)
    active: bool = True
    facts_at: datetime = Field(sa_column=_moment(), description="the event or upload it reflects")
    updated_at: datetime = Field(sa_column=_moment())


class ContactList(SQLModel, table=True):
    """名单: an uploaded list of people to greet (villagers at home, workers away)."""

    __tablename__ = "contact_list"

    id: UUID = Field(primary_key=True)
    name: str
    region_code: str = Field(max_length=12)
    size: int
    uploaded_by: UUID
    created_at: datetime = Field(sa_column=_moment())


class RosterEntry(SQLModel, table=True):
    """A cadre's term on a village's work team, as attendance's roster events tell it: who
    answers for them (contact leader, branch secretary) and the unit that sent them."""

    __tablename__ = "roster_entry"

    member_id: UUID = Field(primary_key=True)
    cadre_id: UUID = Field(index=True)
    region_code: str = Field(max_length=12)
    role: str
    unit_name: str
    unit_code: str | None = None
    contact_leader_id: UUID | None = None
    branch_secretary_id: UUID | None = None
    term_start: date
    term_end: date | None = None
    ended: bool = False


class OptOut(SQLModel, table=True):
    """退订: a phone that asked for no more greetings (an SMS reply 退订 / TD, or by hand)."""

    __tablename__ = "opt_out"

    phone_hash: str = Field(primary_key=True)
    opted_out_at: datetime = Field(sa_column=_moment())
    via: str  # the provider whose callback said so, or "api"


ENCRYPTED_COLUMNS = (
    EncryptedColumn("contact", "phone_encrypted"),
    EncryptedColumn("contact", "wecom_key_encrypted"),
)
