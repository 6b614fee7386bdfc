"""名单文件: reading an uploaded list (CSV or XLSX) into people, every row checked.

The columns are found by their header, Chinese or English (姓名/name, 手机号/phone,
区划代码/region_code, 在外/away, 微信openid/wechat_openid), in any order. Row numbers are the
spreadsheet's (the header is row 1), so a county's staff find the row the error names.
Plain functions, no database: the service stores what they return.
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from openpyxl import load_workbook

from services.common.errors import Invalid
from services.common.sensitive import normalize_phone

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIST_TYPES = (CSV, XLSX)
MAX_ROWS = 100_000
MAX_ERRORS = 50  # listed in the 422; the detail counts them all
MAX_SHEET_ROWS = 1_048_576  # Excel's own limit

_WECHAT_OPENID = re.compile(r"[A-Za-z0-9_-]{28}")
_REGION_CODE = re.compile(r"\d{12}")
# header (normalised: no spaces, lower case) -> field
_HEADERS = {
    "姓名": "name",
    "name": "name",
    "手机号": "phone",
    "手机号码": "phone",
    "phone": "phone",
    "区划代码": "region_code",
    "region_code": "region_code",
    "在外": "away",
    "away": "away",
    "微信openid": "wechat_openid",
    "wechat_openid": "wechat_openid",
}
LABELS = {
    "name": "姓名",
    "phone": "手机号",
    "region_code": "区划代码",
    "away": "在外",
    "wechat_openid": "微信openid",
}
_REQUIRED = ("name", "phone")
_YES = {"是", "yes", "y", "true", "1"}
_NO = {"否", "no", "n", "false", "0", ""}
MAX_NAME = 50


@dataclass(frozen=True)
class ListedPerson:
    row: int
    name: str
    phone: str  # normalised: 11 digits
    region_code: str
    away: bool
    wechat_openid: str | None


def _text(cell: Any) -> str:
    """A cell as text: Excel keeps a phone typed as a number as 13812345678.0."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return str(cell).strip()


def _unreadable(what: str) -> Invalid:
    return Invalid(f"无法读取名单文件：{what}", code="contact_list_unreadable")


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    # Excel saves "CSV UTF-8" with a BOM, plain "CSV" in the system's code page (GBK here).
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError:
            raise _unreadable("编码既不是 UTF-8 也不是 GBK") from None
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error:
        raise _unreadable("CSV 格式不正确") from None


def _xlsx_rows(content: bytes) -> Iterator[tuple[Any, ...]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise _unreadable("不是有效的 XLSX 文件") from None
    try:
        # read-only workbooks parse each sheet's XML as its rows are read: a damaged sheet
        # shows here, not when the workbook is opened
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    except (ElementTree.ParseError, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise _unreadable("XLSX 文件已损坏") from None
    finally:
        workbook.close()


def _columns(header: Iterable[Any]) -> dict[str, int]:
    """Each known field's column; the first of two columns with the same meaning counts."""
    columns: dict[str, int] = {}
    for position, cell in enumerate(header):
        field = _HEADERS.get(re.sub(r"\s+", "", _text(cell)).lower())
        if field is not None:
            columns.setdefault(field, position)
    missing = [LABELS[f] for f in _REQUIRED if f not in columns]
    if missing:
        raise Invalid(
            f"名单缺少必填列：{'、'.join(missing)}",
            code="contact_list_invalid",
            errors=[
                {"field": f"columns.{f}", "message": f"缺少“{LABELS[f]}”列"}
                for f in _REQUIRED
                if f not in columns
            ],
        )
    return columns


def _person(
    row: int, cells: dict[str, str], region_prefix: str, default_region: str
) -> tuple[ListedPerson | None, list[tuple[str, str]]]:
    """One row as a person, or what is wrong with it: (field, message) pairs."""
    wrong: list[tuple[str, str]] = []
    name = cells.get("name", "")
    if not name:
        wrong.append(("name", "姓名不能为空"))
    elif len(name) > MAX_NAME or "\x00" in name:
        wrong.append(("name", f"姓名不能超过 {MAX_NAME} 个字"))
    phone = ""
    try:
        phone = normalize_phone(cells.get("phone", ""))
    except ValueError as exc:
        wrong.append(("phone", str(exc)))
    region_code = cells.get("region_code") or default_region
    if not _REGION_CODE.fullmatch(region_code):
        wrong.append(("region_code", "区划代码应为 12 位数字"))
    elif not region_code.startswith(region_prefix):
        wrong.append(("region_code", "区划代码不在名单所属区域内"))
    away = cells.get("away", "").lower()
    if away not in _YES | _NO:
        wrong.append(("away", "在外应填 是 或 否"))
    openid = cells.get("wechat_openid") or None
    if openid is not None and not _WECHAT_OPENID.fullmatch(openid):
        wrong.append(("wechat_openid", "微信 openid 应为 28 位字母、数字、_ 或 -"))
    if wrong:
        return None, wrong
    return ListedPerson(row, name, phone, region_code, away in _YES, openid), []


def read_list(
    content: bytes, content_type: str, *, region_prefix: str, default_region: str
) -> tuple[list[ListedPerson], int]:
    """The people of an uploaded list, and how many rows repeated a phone already listed
    (the first row of a phone is kept). Every row is checked before anything is returned:
    any invalid row is a 422 `contact_list_invalid` naming the rows and fields (the first
    MAX_ERRORS of them); no person a 422 `contact_list_empty`; more than MAX_ROWS
    `contact_list_too_many_rows`. Blank rows (Excel leaves some at the end) are skipped."""
    rows: Iterator[Any] = _csv_rows(content) if content_type == CSV else _xlsx_rows(content)
    header = next(rows, None)
    if header is None:
        raise Invalid("名单是空的", code="contact_list_empty")
    columns = _columns(header)
    people: list[ListedPerson] = []
    seen: set[str] = set()
    duplicates, errors, wrong_count, counted = 0, [], 0, 0
    for number, raw in enumerate(rows, start=2):
        values = [_text(cell) for cell in raw]
        # Blank rows are skipped, as far as a sheet of Excel's reaches; past that they
        # count, so a crafted file of endless blank rows is soon too long.
        if not any(values) and number <= MAX_SHEET_ROWS:
            continue
        counted += 1
        if counted > MAX_ROWS:
            raise Invalid(f"名单不能超过 {MAX_ROWS} 行", code="contact_list_too_many_rows")
        cells = {f: values[i] if i < len(values) else "" for f, i in columns.items()}
        person, wrong = _person(number, cells, region_prefix, default_region)
        wrong_count += len(wrong)
        errors += [
            {"field": f"rows[{number}].{field}", "message": f"第 {number} 行 {LABELS[field]}：{m}"}
            for field, m in wrong
        ][: max(0, MAX_ERRORS - len(errors))]
        if person is None:
            continue
        if person.phone in seen:
            duplicates += 1
            continue
        seen.add(person.phone)
        people.append(person)
    if wrong_count:
        raise Invalid(
            f"名单有 {wrong_count} 处错误"
            + (f"（列出前 {MAX_ERRORS} 处）" if wrong_count > MAX_ERRORS else "")
            + "，未导入任何人",
            code="contact_list_invalid",
            errors=errors,
        )
    if not people:
        raise Invalid("名单中没有任何人", code="contact_list_empty")
    return people, duplicates
