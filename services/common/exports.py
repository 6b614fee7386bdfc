"""Exports: a list or report as CSV or XLSX, streamed, its headers the fields' Chinese labels
(CONVENTIONS.md: the same route with `?format=csv|xlsx`).

Rows come from an async iterator (a server-side cursor), so neither format holds the whole
export in memory: CSV leaves row by row; XLSX is written by openpyxl's write-only workbook
(rows go to a temporary file, not a tree in memory) and sent from that file in chunks.
"""

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal
from urllib.parse import quote
from uuid import UUID

from openpyxl import Workbook
from pydantic import BaseModel
from starlette.responses import StreamingResponse

Format = Literal["json", "csv", "xlsx"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHUNK = 64 * 1024
_ROWS_PER_FLUSH = 500


def headers_of(model: type[BaseModel]) -> list[str]:
    """Each field's Chinese label (its `title`), in the model's order."""
    return [field.title or name for name, field in model.model_fields.items()]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, UUID | Enum):
        return str(value.value if isinstance(value, Enum) else value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return "、".join(str(_cell(v)) for v in value)
    return value


def _values(row: BaseModel) -> list[Any]:
    return [_cell(getattr(row, name)) for name in type(row).model_fields]


async def _csv(rows: AsyncIterator[BaseModel], model: type[BaseModel]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # the BOM: Excel then reads the Chinese as UTF-8
    writer.writerow(headers_of(model))
    count = 0
    async for row in rows:
        writer.writerow(_values(row))
        count += 1
        if count % _ROWS_PER_FLUSH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def _xlsx(
    rows: AsyncIterator[BaseModel], model: type[BaseModel], sheet: str
) -> AsyncIterator[bytes]:
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])  # Excel's limit on a sheet's name

    def append(batch: list[list[Any]]) -> None:
        for values in batch:
            worksheet.append(values)

    # Writing cells is CPU work (some 0.1 ms a row): done in a thread, a batch at a time, so a
    # province's export does not hold the service's event loop (its check-ins) for seconds.
    batch: list[list[Any]] = [headers_of(model)]
    async for row in rows:
        batch.append(_values(row))
        if len(batch) >= _ROWS_PER_FLUSH:
            await asyncio.to_thread(append, batch)
            batch = []
    await asyncio.to_thread(append, batch)
    with tempfile.TemporaryFile() as file:
        await asyncio.to_thread(workbook.save, file)
        file.seek(0)
        while chunk := await asyncio.to_thread(file.read, _CHUNK):
            yield chunk


def export(
    rows: Callable[[], AsyncIterator[BaseModel]],
    model: type[BaseModel],
    format: Literal["csv", "xlsx"],
    filename: str,
) -> StreamingResponse:
    """The rows `rows()` yields (models of `model`) as a streamed CSV or XLSX download named
    `filename` (without its extension)."""
    body = _csv(rows(), model) if format == "csv" else _xlsx(rows(), model, filename)
    media = "text/csv; charset=utf-8" if format == "csv" else XLSX
    disposition = f"attachment; filename*=UTF-8''{quote(f'{filename}.{format}')}"
    return StreamingResponse(body, media_type=media, headers={"Content-Disposition": disposition})
