"""The gateway's own domain logic: the region directory (identity comes with its issue)."""

import csv
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from gateway.models import Region
from gateway.schemas import RegionCreate
from services.common.errors import Invalid
from services.common.pagination import PageParams, paginate


def read_region_csv(path: Path) -> list[RegionCreate]:
    """Rows of a region CSV (code, name, level, parent), checked; a bad row names its line."""
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                rows.append(
                    RegionCreate.model_validate({**row, "parent": row.get("parent") or None})
                )
            except ValidationError as exc:
                raise Invalid(f"{path.name} 第 {line} 行不合法: {exc.errors()[0]['msg']}") from exc
    return rows


async def import_regions(session: AsyncSession, regions: Iterable[RegionCreate]) -> int:
    """Add or update regions by code; importing the same file twice changes nothing."""
    values = [r.model_dump() for r in regions]
    if not values:
        return 0
    statement = insert(Region).values(values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["code"],
            set_={
                "name": statement.excluded.name,
                "level": statement.excluded.level,
                "parent": statement.excluded.parent,
            },
        )
    )
    return len(values)


async def list_regions(
    session: AsyncSession, page: PageParams, *, parent: str | None, level: str | None
) -> tuple[list[Region], str | None]:
    statement = select(Region)
    if parent is not None:
        statement = statement.where(Region.parent == parent)
    if level is not None:
        statement = statement.where(Region.level == level)
    return await paginate(
        session,
        statement,
        page,
        id_column=Region.code,  # type: ignore[arg-type]
        sortable={"code": Region.code},  # type: ignore[dict-item]
        default_sort="code",
    )
