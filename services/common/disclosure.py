"""Showing a sensitive field (敏感字段) to a caller: masked (脱敏), unless the caller's roles
need the clear value, and then every clear read is audited, one entry per record.

A record holds the field as `<name>_encrypted` (see services/common/sensitive.py), beside its
`id` and `region_code`. Phones now; citizen ID numbers (households) take a `Sensitive` of
their own with its permission and `mask_id_number`.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common import audit
from services.common.auth import Caller
from services.common.permissions import Permission
from services.common.sensitive import SensitiveData, mask_phone


@dataclass(frozen=True)
class Sensitive:
    """A kind of sensitive field: its name, who reads it in clear, and how it is masked."""

    name: str
    clear_permission: Permission
    mask: Callable[[str], str]

    @property
    def read_action(self) -> str:
        return f"sensitive.{self.name}.read"


PHONE = Sensitive("phone", Permission.PHONE_READ_CLEAR, mask_phone)


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
