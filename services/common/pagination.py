"""Cursor pagination, the same on every list route: `?limit=&cursor=&sort=`.

Keyset pagination on (sort field, id): stable under inserts, no OFFSET scans. The cursor is opaque
to clients (base64 of the last row's key and the sort it belongs to).
"""

import base64
import binascii
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import orjson
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, String, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.common.errors import Invalid

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int = 50
    cursor: str | None = None
    sort: str | None = None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="每页条数")] = 50,
    cursor: Annotated[str | None, Query(description="上一页返回的 next_cursor")] = None,
    sort: Annotated[str | None, Query(description="排序字段，前加 - 为降序")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor, sort=sort)


def encode_cursor(sort: str, values: Sequence[Any]) -> str:
    raw = orjson.dumps([sort, [str(v) if isinstance(v, UUID) else v for v in values]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, values = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise Invalid("分页游标无效", code="invalid_cursor") from exc
    if cursor_sort != sort or not isinstance(values, list) or len(values) != 2:
        raise Invalid("分页游标与排序方式不符", code="invalid_cursor")
    return values


def _coerce(column: InstrumentedAttribute[Any], value: Any) -> Any:
    """The cursor's value as the column's type; anything a forged cursor holds is a 422."""
    try:
        # sqlmodel's str columns (AutoString, a String underneath) name no python_type
        string = isinstance(getattr(column.type, "impl", column.type), String)
        kind = str if string else column.type.python_type
        if kind is datetime:
            parsed = datetime.fromisoformat(value)
            parsed.astimezone(UTC)  # out of range once in UTC (year 1 at +14:00)
            return parsed
        if kind is UUID:
            return UUID(str(value))
        if not isinstance(value, str | int | float):
            raise TypeError(type(value).__name__)
        return kind(value)
    except (TypeError, ValueError, OverflowError, AttributeError, NotImplementedError) as exc:
        raise Invalid("分页游标无效", code="invalid_cursor") from exc


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    params: PageParams,
    *,
    id_column: InstrumentedAttribute[Any],
    sortable: dict[str, InstrumentedAttribute[Any]],
    default_sort: str,
) -> tuple[list[Any], str | None]:
    """One page of `statement` (a select of one entity) and the cursor of the next page."""
    sort = params.sort or default_sort
    name = sort.removeprefix("-")
    if name not in sortable:
        raise Invalid(
            f"不支持按 {name} 排序",
            code="invalid_sort",
            errors=[{"field": "sort", "message": f"one of: {', '.join(sorted(sortable))}"}],
        )
    column, descending = sortable[name], sort.startswith("-")
    if params.cursor:
        last_value, last_id = decode_cursor(params.cursor, sort)
        key = tuple_(column, id_column)
        after = (_coerce(column, last_value), _coerce(id_column, last_id))
        statement = statement.where(key < after if descending else key > after)
    order = (column.desc(), id_column.desc()) if descending else (column.asc(), id_column.asc())
    rows = list(
        (await session.execute(statement.order_by(*order).limit(params.limit + 1))).scalars()
    )
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    value = getattr(last, column.key)
    value = value.isoformat() if isinstance(value, datetime) else value
    return rows, encode_cursor(sort, [value, getattr(last, id_column.key)])
