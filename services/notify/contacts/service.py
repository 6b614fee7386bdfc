"""Contacts' domain logic: plain functions that take a session and never commit."""

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.contracts.attendance import RosterChanged
from services.common.contracts.identity import UserFacts
from services.common.sensitive import SensitiveData
from services.notify.contacts.models import Contact, RosterEntry


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
