"""The hand-filled catalog layout (政务信息资源目录编目表) read and written by import/export.

XLSX: sheet ``资源`` has one row per resource; sheet ``信息项`` one row per information item,
tied to its resource by 资源代码 (or 资源名称 for new entries without a code).
CSV: one flat row per information item carrying its resource's columns.

>>> unescape("'=SUM(A1)"), unescape("'成都"), unescape(None)
('=SUM(A1)', "'成都", '')
>>> parse_sharing_type("有条件共享"), parse_sharing_type("3"), parse_sharing_type("1 无条件共享")
(2, 3, 1)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from charset_normalizer import from_bytes
from openpyxl import load_workbook

from shudata.core.errors import InvalidInput, UnsupportedMedia
from shudata.core.textsafe import FORMULA_PREFIXES
from shudata.lake.ingest.limits import ReadLimits, check_zip

RESOURCE_SHEET, ITEM_SHEET = "资源", "信息项"

# header -> field key
RESOURCE_COLUMNS: dict[str, str] = {
    "资源代码": "code", "资源名称": "name", "别名": "alias", "资源分类": "classification", "分类代码": "category_code",
    "类目路径": "category_path", "提供方": "provider", "提供方代码": "provider_code", "摘要": "abstract",
    "格式分类": "format_category", "格式类型": "format_type", "共享类型": "sharing_type",
    "共享条件": "sharing_condition",
    "共享方式": "sharing_method", "开放类型": "open_type", "开放条件": "open_condition", "更新周期": "update_cycle",
    "发布日期": "publish_date", "关联资源代码": "related_codes", "基础库": "base_registry", "标签": "tags",
}
ITEM_COLUMNS: dict[str, str] = {"信息项名称": "item_name", "数据类型": "item_type", "数据长度": "item_length",
                                "信息项描述": "item_description"}
ITEM_SHEET_COLUMNS: dict[str, str] = {"资源代码": "code", "资源名称": "name", **ITEM_COLUMNS}
HEADER_OF = {v: k for k, v in {**RESOURCE_COLUMNS, **ITEM_COLUMNS}.items()}
SHARING_WORDS = {"无条件": 1, "有条件": 2, "不予": 3}


@dataclass
class Row:
    """One data row: where it is and its cells by field key."""

    sheet: str
    number: int
    cells: dict[str, str]


@dataclass
class Block:
    """One resource: its row and the rows of its information items."""

    row: Row
    items: list[Row] = field(default_factory=list)


def unescape(value: Any) -> str:
    """Cell text, undoing the export's formula guard (a quote before ``=+-@``)."""
    if value is None:
        return ""
    text = value.isoformat()[:10] if hasattr(value, "isoformat") else str(value)
    text = text.strip()
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def parse_sharing_type(text: str) -> int | None:
    text = text.strip().removesuffix(".0")
    if text[:1] in {"1", "2", "3"} and (len(text) == 1 or not text[1].isdigit()):
        return int(text[0])
    for word, value in SHARING_WORDS.items():
        if text.startswith(word):
            return value
    return None


def _rows(sheet: str, table: list[list[Any]], columns: dict[str, str]) -> Iterator[Row]:
    if not table:
        return
    header = [unescape(h) for h in table[0]]
    keys = [columns.get(h) for h in header]
    if not any(keys):
        raise InvalidInput(f"“{sheet}”表头无法识别，应包含：{'、'.join(columns)}",
                           f"Sheet {sheet}: unknown header row", code="bad_header")
    for number, raw in enumerate(table[1:], start=2):
        cells = {k: unescape(v) for k, v in zip(keys, raw, strict=False) if k}
        if any(cells.values()):
            yield Row(sheet, number, cells)


def read_xlsx(content: bytes, limits: ReadLimits | None = None) -> list[Block]:
    """Blocks of the resource and item sheets; a zip bomb is refused (413) before openpyxl opens it."""
    check_zip(io.BytesIO(content), limits or ReadLimits())
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise UnsupportedMedia("无法读取 XLSX 文件，请确认文件完整且为 Excel 2007 以上格式",
                               "Cannot read the XLSX file", code="bad_xlsx") from exc
    if RESOURCE_SHEET not in wb.sheetnames:
        raise InvalidInput(f"缺少工作表“{RESOURCE_SHEET}”（现有：{'、'.join(wb.sheetnames)}）",
                           f"Sheet {RESOURCE_SHEET} missing", code="bad_layout")
    blocks = [Block(r) for r in _rows(RESOURCE_SHEET, [list(x) for x in wb[RESOURCE_SHEET].iter_rows(values_only=True)],
                                      RESOURCE_COLUMNS)]
    if ITEM_SHEET in wb.sheetnames:
        table = [list(x) for x in wb[ITEM_SHEET].iter_rows(values_only=True)]
        _attach(blocks, list(_rows(ITEM_SHEET, table, ITEM_SHEET_COLUMNS)))
    wb.close()
    return blocks


def _key(cells: dict[str, str]) -> str:
    return cells.get("code") or f"name:{cells.get('name', '')}"


def _attach(blocks: list[Block], items: list[Row]) -> None:
    by_key = {_key(b.row.cells): b for b in blocks}
    by_name = {b.row.cells.get("name", ""): b for b in blocks}
    for item in items:
        block = by_key.get(_key(item.cells)) or by_name.get(item.cells.get("name", ""))
        if block is None:
            block = Block(Row(ITEM_SHEET, item.number, {"code": item.cells.get("code", ""),
                                                        "name": item.cells.get("name", "")}))
            block.row.cells["_orphan"] = "1"
            blocks.append(block)
            by_key[_key(item.cells)] = block
        block.items.append(item)


def decode(content: bytes) -> str:
    """CSV text in UTF-8 (with or without BOM), GBK/GB18030 or what charset-normalizer finds."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(content[:200_000]).best()
    for enc in ([best.encoding] if best else []) + ["gb18030"]:
        try:
            return content.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    raise UnsupportedMedia("无法识别 CSV 文件编码，请另存为 UTF-8 或 GBK", "Unknown CSV encoding", code="bad_encoding")


def read_csv(content: bytes) -> list[Block]:
    if b"\x00" in content[:4096]:
        raise UnsupportedMedia("文件不是文本 CSV", "Not a text CSV file", code="binary_file")
    try:
        table = list(csv.reader(io.StringIO(decode(content), newline="")))
    except csv.Error as exc:  # e.g. a lone carriage return inside an unquoted field
        raise InvalidInput(f"CSV 文件格式有误：{exc}", f"The CSV file is malformed: {exc}", code="bad_csv") from None
    blocks: dict[str, Block] = {}
    for row in _rows("CSV", table, {**RESOURCE_COLUMNS, **ITEM_COLUMNS}):
        key = _key(row.cells)
        if key not in blocks:
            blocks[key] = Block(row)
        if row.cells.get("item_name"):
            blocks[key].items.append(row)
    return list(blocks.values())
