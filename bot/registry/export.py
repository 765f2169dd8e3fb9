"""The member roster as a spreadsheet (CSV or XLSX), shared by `unionbot members export` and the console.

Cells are text and never formulas (a worker could type one into a form); masked unless ``full``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from typing import IO, Any

from bot.registry.models import GENDER_LABELS, STATUS_LABELS

EXPORT_COLUMNS = [
    ("会员号", "number", 14), ("状态", "status", 12), ("姓名", "name", 10), ("性别", "gender", 6),
    ("出生日期", "birth_date", 12), ("手机号", "phone", 14), ("身份证号", "id_number", 21),
    ("职业", "occupation", 12), ("工作单位/平台", "employer", 20), ("驿站编号", "station_code", 10),
    ("驿站", "station_name", 20), ("申请时间", "created_at", 17), ("审核说明", "reason", 30),
]
"""(header, member field, column width in characters)."""
HEADERS = [label for label, _, _ in EXPORT_COLUMNS]


def local_time(iso: str, tz: dt.tzinfo) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def export_row(m: dict[str, Any], full: bool, tz: dt.tzinfo) -> list[str]:
    values = dict(m)
    values["status"] = STATUS_LABELS[m["status"]]
    values["gender"] = GENDER_LABELS.get(m["gender"], m["gender"])
    values["created_at"] = local_time(m["created_at"], tz)
    if not full:
        values["name"], values["phone"], values["id_number"] = (
            m["name_masked"], m["phone_masked"], m["id_number_masked"])
    return [cell(values.get(key)) for _, key, _ in EXPORT_COLUMNS]


def cell(value: Any) -> str:
    """Text for a spreadsheet cell; never a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(handle: IO[str], rows: Iterable[list[str]]) -> None:
    """UTF-8 CSV (open ``handle`` with encoding utf-8-sig so Excel reads the Chinese)."""
    writer = csv.writer(handle)
    writer.writerow(HEADERS)
    writer.writerows(rows)


def write_xlsx(handle: IO[bytes], rows: Iterable[list[str]]) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("会员")
    for index, (_, _, width) in enumerate(EXPORT_COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)  # strings stay text: ID numbers keep every digit
    workbook.save(handle)
