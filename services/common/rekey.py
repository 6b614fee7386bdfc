"""Re-encrypting what is stored under the newest data key, so an old key can leave settings.

A key can be dropped from ZHUCUN_DATA_KEYS only once no stored ciphertext needs it. Each service
names its encrypted columns once, beside its tables (`ENCRYPTED_COLUMNS`); `zhucun
rotate-data-keys` runs `rotate_data_keys` on each service's database after the new key has been
put first and the services restarted.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import LargeBinary, bindparam, column, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import audit
from services.common.sensitive import DecryptionFailed, SensitiveData

ROTATED = "sensitive.data_keys_rotated"


@dataclass(frozen=True)
class EncryptedColumn:
    """A column of Fernet ciphertexts, and the unique column its rows are walked by."""

    table: str
    column: str
    id_column: str = "id"

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


async def reencrypt(
    session: AsyncSession,
    vault: SensitiveData,
    table_name: str,
    column_name: str,
    id_column: str = "id",
    *,
    batch: int = 500,
) -> int:
    """Every non-null ciphertext of the column under the newest key, `batch` rows at a time in
    `id_column`'s order, in the session's transaction; how many rows changed. A row already
    under the newest key is left as it is, so a second run changes none. The rows read are
    locked until the transaction ends: a concurrent change of one is not overwritten.

    `DecryptionFailed` (noted with the row's table and id) if no configured key opens a row."""
    rows = table(table_name, column(id_column), column(column_name, LargeBinary))
    row_id, sealed = rows.c[id_column], rows.c[column_name]
    read = select(row_id, sealed).where(sealed.is_not(None)).order_by(row_id).limit(batch)
    write = update(rows).where(row_id == bindparam("key")).values({column_name: bindparam("new")})
    changed, after = 0, None
    while True:
        page = read if after is None else read.where(row_id > after)
        found = (await session.execute(page.with_for_update())).all()
        changes = []
        for key, token in found:
            try:
                new = vault.rotate(token)
            except DecryptionFailed as exc:
                exc.add_note(f"{table_name}.{column_name}, {id_column} {key}")
                raise
            if new != token:
                changes.append({"key": key, "new": new})
        if changes:
            await session.execute(write, changes)
            changed += len(changes)
        if len(found) < batch:
            return changed
        after = found[-1][0]


async def rotate_data_keys(
    session: AsyncSession, vault: SensitiveData, columns: Sequence[EncryptedColumn]
) -> dict[str, int]:
    """`reencrypt` each of a database's encrypted columns, and audit the run with the count of
    rows changed per column (`sensitive.data_keys_rotated`)."""
    counts = {
        str(each): await reencrypt(session, vault, each.table, each.column, each.id_column)
        for each in columns
    }
    await audit.record(session, action=ROTATED, actor="zhucun rotate-data-keys", detail=counts)
    return counts
