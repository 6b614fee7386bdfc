"""Contacts' domain logic: plain functions that take a session and never commit."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from services.common import audit
from services.common.auth import Caller, check_writable, one_scoped, scoped
from services.common.contracts.attendance import RosterChanged
from services.common.contracts.identity import UserFacts
from services.common.db import driver, lock
from services.common.disclosure import PHONE, disclose
from services.common.errors import (
    Conflict,
    Invalid,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from services.common.ids import new_id
from services.common.pagination import PageParams, paginate
from services.common.regions import code_of_prefix, region_prefix
from services.common.sensitive import SensitiveData, mask_phone, normalize_phone
from services.notify.contacts import sheets
from services.notify.contacts.models import Contact, ContactList, OptOut, RosterEntry
from services.notify.contacts.schemas import ContactPublic, PreferencesSet, UnitCreate, UnitUpdate
from services.notify.delivery.models import Message


async def keep_user(
    session: AsyncSession, vault: SensitiveData, user: UserFacts, *, facts_at: datetime
) -> None:
    """A user as identity's event says they are now. The phone comes sealed under the shared
    data keys and is kept re-sealed under the newest (contracts/identity.py says why); an
    event older than what the row already reflects (a redelivery after a later one) changes
    nothing. Preferences set here (channels, WeChat) are the contact's own and kept."""
    phone = None if user.phone_sealed is None else vault.rotate(user.phone_sealed.encode())
    facts = {
        "name": user.display_name,
        "region_code": user.region_code,
        "roles": list(user.roles),
        "phone_encrypted": phone,
        "phone_hash": user.phone_hash,
        "phone_masked": user.phone_masked,
        "active": user.active,
        "facts_at": facts_at,
        "updated_at": datetime.now(UTC),
    }
    statement = insert(Contact).values(id=user.user_id, kind="user", **facts)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"],
            set_={name: statement.excluded[name] for name in facts},
            where=Contact.facts_at <= statement.excluded.facts_at,  # type: ignore[arg-type]
        )
    )


async def keep_roster_entry(session: AsyncSession, change: RosterChanged) -> None:
    """A cadre's term on a team as attendance's roster says: assigned, or ended."""
    facts = {
        "cadre_id": change.cadre_id,
        "region_code": change.region_code,
        "role": change.role,
        "unit_name": change.unit_name,
        "unit_code": change.unit_code,
        "contact_leader_id": change.contact_leader_id,
        "branch_secretary_id": change.branch_secretary_id,
        "term_start": change.term_start,
        "term_end": change.term_end,
        "ended": change.change == "ended",
    }
    statement = insert(RosterEntry).values(member_id=change.member_id, **facts)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["member_id"],
            set_={name: statement.excluded[name] for name in facts},
            # an ended term stays ended, whatever order its events arrive in
            where=RosterEntry.ended.is_(False),  # type: ignore[attr-defined]
        )
    )


# --- reading contacts --------------------------------------------------------------------------


_PHONE_COLUMNS = ("phone_encrypted", "phone_hash", "phone_masked")


def sealed_phone(vault: SensitiveData, typed: str | None, field: str = "phone") -> dict[str, Any]:
    """A phone as a contact keeps it (its columns: encrypted, hashed, masked; all None for no
    phone), from what someone typed; a number that is no mainland mobile is a 422
    `invalid_phone`, never repeating it."""
    if typed is None:
        return dict.fromkeys(_PHONE_COLUMNS)
    try:
        phone = normalize_phone(typed)
    except ValueError as exc:
        raise Invalid(
            str(exc), code="invalid_phone", errors=[{"field": field, "message": str(exc)}]
        ) from None
    return {
        "phone_encrypted": vault.encrypt(phone),
        "phone_hash": vault.hash(phone),
        "phone_masked": mask_phone(phone),
    }


async def public(
    session: AsyncSession, caller: Caller, vault: SensitiveData, contacts: Sequence[Contact]
) -> list[ContactPublic]:
    """The contacts as the caller may see them: phones disclosed (clear and audited, or
    masked), whether each phone has opted out of greetings."""
    phones = await disclose(session, caller, vault, PHONE, contacts)
    hashes = {c.phone_hash for c in contacts if c.phone_hash is not None}
    opted = set()
    if hashes:
        found = await session.execute(
            select(OptOut.phone_hash).where(OptOut.phone_hash.in_(hashes))  # type: ignore[attr-defined]
        )
        opted = set(found.scalars())
    return [
        ContactPublic(
            id=c.id,
            kind=c.kind,  # type: ignore[arg-type]
            name=c.name,
            region_code=c.region_code,
            roles=c.roles,
            list_id=c.list_id,
            unit_code=c.unit_code,
            phone=phone,
            has_wechat=c.wechat_openid is not None,
            has_wecom=c.wecom_key_encrypted is not None,
            channels=c.channels,
            away=c.away,
            active=c.active,
            opted_out=c.phone_hash in opted,
        )
        for c, phone in zip(contacts, phones, strict=True)
    ]


async def list_contacts(
    session: AsyncSession,
    page: PageParams,
    caller: Caller,
    vault: SensitiveData,
    *,
    kind: str | None = None,
    list_id: UUID | None = None,
    role: str | None = None,
    region_code: str | None = None,
    phone: str | None = None,
) -> tuple[list[Contact], str | None]:
    """联系人 within the caller's region; a phone is found through its keyed hash, by those
    who read phones in clear."""
    statement = scoped(select(Contact), Contact.region_code, caller, within=region_code)
    if phone is not None:
        typed_hash = await PHONE.search_hash(session, caller, vault, phone)
        statement = statement.where(Contact.phone_hash == typed_hash)
    if kind is not None:
        statement = statement.where(Contact.kind == kind)
    if list_id is not None:
        statement = statement.where(Contact.list_id == list_id)
    if role is not None:
        statement = statement.where(Contact.roles.contains([role]))  # type: ignore[attr-defined]
    return await paginate(
        session,
        statement,
        page,
        id_column=Contact.id,  # type: ignore[arg-type]
        sortable={"name": Contact.name, "updated_at": Contact.updated_at},  # type: ignore[dict-item]
        default_sort="name",
    )


_CONTACT_NOT_FOUND = NotFound("联系人不存在", code="contact_not_found")


async def get_contact(
    session: AsyncSession, contact_id: UUID, caller: Caller, *, for_update: bool = False
) -> Contact:
    return await one_scoped(
        session, Contact, contact_id, caller, _CONTACT_NOT_FOUND, for_update=for_update
    )


async def set_preferences(
    session: AsyncSession, contact_id: UUID, data: PreferencesSet, caller: Caller
) -> Contact:
    """How a contact is reached (channels in order, WeChat), whole; audited. Kept through
    identity's later events (keep_user leaves them be)."""
    contact = await get_contact(session, contact_id, caller, for_update=True)
    before = {"channels": contact.channels, "has_wechat": contact.wechat_openid is not None}
    contact.channels = list(data.channels)
    contact.channels_chosen = True  # their own order now leads the route's or campaign's
    contact.wechat_openid = data.wechat_openid
    contact.updated_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        action="notify.contact.preferences_set",
        user_id=caller.user_id,
        target=contact.id,
        region_code=contact.region_code,
        detail={
            "before": before,
            "after": {"channels": contact.channels, "has_wechat": data.wechat_openid is not None},
        },
    )
    return contact


# --- dispatching units (派出单位) ----------------------------------------------------------------


async def _check_unit_code_free(
    session: AsyncSession, unit_code: str, region_code: str, unit_id: UUID | None = None
) -> None:
    """One unit per code in a county: alerts find a unit's contact by its code alone."""
    county = region_code[:6]
    await lock(session, f"unit:{county}:{unit_code}")  # two first POSTs of the same unit
    statement = select(Contact.id).where(
        Contact.kind == "unit",
        Contact.unit_code == unit_code,
        Contact.region_code.startswith(county, autoescape=True),  # type: ignore[attr-defined]
    )
    if unit_id is not None:
        statement = statement.where(Contact.id != unit_id)
    if (await session.execute(statement)).first() is not None:
        raise Conflict(f"本县已有单位代码为 {unit_code} 的派出单位", code="unit_exists")


def _unit_facts(unit: Contact) -> dict[str, Any]:
    """What an audit entry keeps of a unit (never its phone or key)."""
    return {
        "unit_code": unit.unit_code,
        "name": unit.name,
        "region_code": unit.region_code,
        "has_phone": unit.phone_encrypted is not None,
        "has_wecom": unit.wecom_key_encrypted is not None,
        "channels": unit.channels,
    }


async def create_unit(
    session: AsyncSession, vault: SensitiveData, data: UnitCreate, caller: Caller
) -> Contact:
    """派出单位 as a contact: its liaison's phone and its WeCom group robot's key (a
    credential: kept encrypted, never shown). 409 `unit_exists` for its code again in the
    county."""
    check_writable(caller, data.region_code)
    phone = sealed_phone(vault, data.phone)
    await _check_unit_code_free(session, data.unit_code, data.region_code)
    now = datetime.now(UTC)
    unit = Contact(
        id=new_id(),
        kind="unit",
        name=data.name,
        region_code=data.region_code,
        unit_code=data.unit_code,
        wecom_key_encrypted=None if data.wecom_key is None else vault.encrypt(data.wecom_key),
        channels=list(data.channels or _unit_channels(data.wecom_key is not None)),
        facts_at=now,
        updated_at=now,
        **phone,
    )
    session.add(unit)
    await session.flush()
    await audit.record(
        session,
        action="notify.unit.created",
        user_id=caller.user_id,
        target=unit.id,
        region_code=unit.region_code,
        detail=_unit_facts(unit),
    )
    return unit


def _unit_channels(has_wecom: bool) -> list[str]:
    # The group robot reaches the whole unit at no cost; the liaison's SMS is the fallback.
    return ["wecom", "sms"] if has_wecom else ["sms"]


async def update_unit(
    session: AsyncSession, vault: SensitiveData, unit_id: UUID, data: UnitUpdate, caller: Caller
) -> Contact:
    """Change a unit: the fields given; a null phone or key removes it, one must remain."""
    unit = await get_contact(session, unit_id, caller, for_update=True)
    if unit.kind != "unit":
        raise NotFound("派出单位不存在", code="unit_not_found")
    given = data.model_fields_set
    before = _unit_facts(unit)
    region_code = data.region_code or unit.region_code
    unit_code = data.unit_code or unit.unit_code or ""  # a unit always has its code
    check_writable(caller, region_code)
    if "phone" in given:
        for column, value in sealed_phone(vault, data.phone).items():
            setattr(unit, column, value)
    if "wecom_key" in given:
        unit.wecom_key_encrypted = None if data.wecom_key is None else vault.encrypt(data.wecom_key)
    if unit.phone_encrypted is None and unit.wecom_key_encrypted is None:
        raise Invalid(
            "派出单位须有联络人手机号或群机器人 key",
            code="unit_unreachable",
            errors=[{"field": "phone", "message": "a phone or a WeCom robot's key, at least one"}],
        )
    if (unit_code, region_code[:6]) != (unit.unit_code, unit.region_code[:6]):
        await _check_unit_code_free(session, unit_code, region_code, unit.id)
    unit.unit_code, unit.region_code = unit_code, region_code
    if data.name is not None:
        unit.name = data.name
    if data.channels is not None:
        unit.channels = list(data.channels)
    unit.updated_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        action="notify.unit.updated",
        user_id=caller.user_id,
        target=unit.id,
        region_code=unit.region_code,
        detail={"before": before, "after": _unit_facts(unit)},
    )
    return unit


# --- uploaded lists (名单) -----------------------------------------------------------------------

_LIST_NOT_FOUND = NotFound("名单不存在", code="contact_list_not_found")
_LISTED_COLUMNS = (
    "id",
    "kind",
    "name",
    "region_code",
    "roles",
    "list_id",
    "phone_encrypted",
    "phone_hash",
    "phone_masked",
    "wechat_openid",
    "channels",
    "away",
    "active",
    "facts_at",
    "updated_at",
)


def declared_list_type(content_type: str | None) -> str:
    """The list's file type its Content-Type names (parameters aside); 415 for another."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type not in sheets.LIST_TYPES:
        accepted = ", ".join(sheets.LIST_TYPES)
        raise UnsupportedMediaType(
            f"名单须以 CSV 或 XLSX 上传（{accepted}）",
            code="contact_list_type_unsupported",
            headers={"Accept-Post": accepted},
        )
    return media_type


def list_too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"名单文件不能超过 {max_bytes / 2**20:.0f} MiB", code="contact_list_too_large"
    )


def _records(
    vault: SensitiveData, people: Sequence[sheets.ListedPerson], list_id: UUID, now: datetime
) -> list[tuple[Any, ...]]:
    """The people as contact rows, in _LISTED_COLUMNS' order, their phones sealed."""
    return [
        (
            new_id(),
            "listed",
            p.name,
            p.region_code,
            [],
            list_id,
            vault.encrypt(p.phone),
            vault.hash(p.phone),
            mask_phone(p.phone),
            p.wechat_openid,
            ["sms", "wechat"] if p.wechat_openid else ["sms"],
            p.away,
            True,
            now,
            now,
        )
        for p in people
    ]


async def upload_list(
    session: AsyncSession,
    vault: SensitiveData,
    content: bytes,
    content_type: str,
    *,
    name: str,
    region_code: str,
    caller: Caller,
) -> tuple[ContactList, int]:
    """名单: a list's people stored as contacts, all or none; the list and how many rows
    repeated a phone (the first kept). Read and sealed in a thread (a list of 100,000 takes
    seconds of CPU), copied in at once."""
    check_writable(caller, region_code)
    now = datetime.now(UTC)
    list_id = new_id()

    def prepare() -> tuple[list[tuple[Any, ...]], int]:
        people, duplicates = sheets.read_list(
            content,
            content_type,
            region_prefix=region_prefix(region_code),
            default_region=region_code,
        )
        return _records(vault, people, list_id, now), duplicates

    records, duplicates = await asyncio.to_thread(prepare)
    contact_list = ContactList(
        id=list_id,
        name=name,
        region_code=region_code,
        size=len(records),
        uploaded_by=caller.user_id,
        created_at=now,
    )
    session.add(contact_list)
    await session.flush()
    connection = await driver(session)
    await connection.copy_records_to_table("contact", records=records, columns=_LISTED_COLUMNS)
    await audit.record(
        session,
        action="notify.contact_list.uploaded",
        user_id=caller.user_id,
        target=list_id,
        region_code=region_code,
        detail={"name": name, "size": len(records), "duplicates": duplicates},
    )
    return contact_list, duplicates


async def list_lists(
    session: AsyncSession, page: PageParams, caller: Caller, *, region_code: str | None = None
) -> tuple[list[ContactList], str | None]:
    statement = scoped(select(ContactList), ContactList.region_code, caller, within=region_code)
    return await paginate(
        session,
        statement,
        page,
        id_column=ContactList.id,  # type: ignore[arg-type]
        sortable={"created_at": ContactList.created_at, "name": ContactList.name},  # type: ignore[dict-item]
        default_sort="-created_at",
    )


async def get_list(session: AsyncSession, list_id: UUID, caller: Caller) -> ContactList:
    return await one_scoped(session, ContactList, list_id, caller, _LIST_NOT_FOUND)


async def delete_list(session: AsyncSession, list_id: UUID, caller: Caller) -> None:
    """A list goes, its people with it (the foreign key cascades); audited."""
    contact_list = await one_scoped(
        session, ContactList, list_id, caller, _LIST_NOT_FOUND, for_update=True
    )
    await session.delete(contact_list)
    await session.flush()
    await audit.record(
        session,
        action="notify.contact_list.deleted",
        user_id=caller.user_id,
        target=list_id,
        region_code=contact_list.region_code,
        detail={"name": contact_list.name, "size": contact_list.size},
    )


# --- opt-outs (退订) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OptedOut:
    record: OptOut
    created: bool  # False: the phone had opted out before
    greetings_stopped: int  # queued greetings to it, now never sent


async def opt_out(session: AsyncSession, phone_hash: str, via: str) -> OptedOut:
    """退订: the phone with `phone_hash` receives no more greetings (`via`: "api", or the
    provider whose SMS reply said 退订). Idempotent: the first opt-out's time and way are
    kept. Its greetings still queued (to any contact with that phone) are marked opted out
    now, so none leaves after the person said no. Alerts are not greetings: they still go."""
    now = datetime.now(UTC)
    inserted = await session.execute(
        insert(OptOut)
        .values(phone_hash=phone_hash, opted_out_at=now, via=via)
        .on_conflict_do_nothing(index_elements=["phone_hash"])
        .returning(OptOut.phone_hash)  # type: ignore[arg-type]
    )
    created = inserted.first() is not None
    stopped = await session.execute(
        update(Message)
        .where(
            Message.priority == "greeting",
            Message.status == "queued",
            Message.recipient_id.in_(  # type: ignore[union-attr]
                select(Contact.id).where(Contact.phone_hash == phone_hash)
            ),
        )
        .values(
            status="opted_out",
            error_code="opted_out",
            error_detail="opted_out: 已退订",
            updated_at=now,
        )
    )
    record = await session.get(OptOut, phone_hash, populate_existing=True)
    assert record is not None
    return OptedOut(record, created, stopped.rowcount)  # type: ignore[attr-defined]


async def opt_out_by_hand(
    session: AsyncSession, vault: SensitiveData, typed: str, caller: Caller
) -> tuple[OptedOut, str]:
    """A phone opted out by county or township staff (the person phoned to say so), and the
    phone masked; audited, without the number."""
    phone = sealed_phone(vault, typed)
    phone_hash = phone["phone_hash"]
    done = await opt_out(session, phone_hash, "api")
    await audit.record(
        session,
        action="notify.opt_out.added",
        user_id=caller.user_id,
        target=phone_hash,
        region_code=code_of_prefix(caller.scope),
        detail={"created": done.created, "greetings_stopped": done.greetings_stopped},
    )
    return done, phone["phone_masked"]


async def opt_back_in(
    session: AsyncSession, vault: SensitiveData, typed: str, caller: Caller
) -> bool:
    """The person asked for greetings again: their opt-out goes (True if there was one).
    Greetings already marked opted out stay unsent. Audited, without the number."""
    phone_hash = sealed_phone(vault, typed)["phone_hash"]
    removed = await session.execute(
        delete(OptOut).where(OptOut.phone_hash == phone_hash).returning(OptOut.phone_hash)  # type: ignore[arg-type]
    )
    existed = removed.first() is not None
    await audit.record(
        session,
        action="notify.opt_out.removed",
        user_id=caller.user_id,
        target=phone_hash,
        region_code=code_of_prefix(caller.scope),
        detail={"existed": existed},
    )
    return existed
