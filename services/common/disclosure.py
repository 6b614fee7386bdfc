"""Showing a sensitive field (敏感字段) to a caller: masked (脱敏), unless the caller's roles
need the clear value, and then every clear read is audited, one entry per record; and finding
records by a value typed in a query, through its keyed hash (`Sensitive.search_hash`).

A record holds the field as `<name>_encrypted` (see services/common/sensitive.py), beside its
`id` and `region_code`. Phones now; citizen ID numbers (households) take a `Sensitive` of
their own with its permission, `mask_id_number` and `validate_id_number`.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common import audit
from services.common.auth import Caller
from services.common.errors import Forbidden, Invalid
from services.common.permissions import Permission
from services.common.sensitive import SensitiveData, mask_phone, normalize_phone


@dataclass(frozen=True)
class Sensitive:
    """A kind of sensitive field: its name, who reads it in clear, how it is masked, and how a
    value typed is normalised (raising ValueError) before it is hashed."""

    name: str
    label: str  # 中文名, for messages
    clear_permission: Permission
    mask: Callable[[str], str]
    normalize: Callable[[str], str]

    @property
    def read_action(self) -> str:
        return f"sensitive.{self.name}.read"

    async def search_hash(
        self, session: AsyncSession, caller: Caller, vault: SensitiveData, typed: str
    ) -> str:
        """The keyed hash to match `<name>_hash` against, of the value as a caller typed it
        (normalised first: `+86 138-1234-5678` finds `13812345678`); a value that cannot be
        one is a 422 `invalid_<name>`, its message never repeating the value.

        Only a caller who reads the field in clear may search by it (to anyone else a search
        would reveal the masked digits, ten thousand guesses at most), and every search is
        audited, without the value."""
        if self.clear_permission not in caller.permissions:
            raise Forbidden(f"无权按{self.label}查找", code=f"{self.name}_search_not_permitted")
        await audit.record(
            session, action=f"sensitive.{self.name}.searched", region_code=caller.scope
        )
        try:
            return vault.hash(self.normalize(typed))
        except ValueError as exc:
            message = str(exc)
            raise Invalid(
                message,
                code=f"invalid_{self.name}",
                errors=[{"field": self.name, "message": message}],
            ) from None


PHONE = Sensitive("phone", "手机号", Permission.PHONE_READ_CLEAR, mask_phone, normalize_phone)


async def disclose(
    session: AsyncSession,
    caller: Caller,
    vault: SensitiveData,
    field: Sensitive,
    records: Sequence[Any],
) -> list[str | None]:
    """The field of each record as `caller` may see it: clear (audited) or masked; None where
    a record has no value."""
    values = [
        None if sealed is None else vault.decrypt(sealed)
        for sealed in (getattr(record, f"{field.name}_encrypted") for record in records)
    ]
    if field.clear_permission not in caller.permissions:
        return [None if value is None else field.mask(value) for value in values]
    await audit.record_each(
        session,
        action=field.read_action,
        user_id=caller.user_id,
        targets=[
            (record.id, record.region_code)
            for record, value in zip(records, values, strict=True)
            if value is not None
        ],
    )
    return values
