"""Bounds on what one upload may make the server do, checked before the expensive work.

A hostile file is small on the wire and large once understood: 10,000 columns in 1.5 MB of
CSV, a million cells in 64 KB of XLSX, a JSON array nested ten thousand deep. Every reader
checks the file's *shape* against :class:`ReadLimits` first, from what is cheap to learn
(the CSV header, the XLSX zip directory and sheet ``dimension``, a token scan of JSON, the
Parquet footer), and counts again while reading, so a file that lies about its shape is
stopped too. A refusal is a 413 that names the limit and the setting that raises it.

>>> lim = ReadLimits(max_columns=3)
>>> check_columns(["a", "b"], lim)
>>> try:
...     check_columns(["a", "b", "c", "d"], lim)
... except PayloadTooLarge as exc:
...     print(exc.status, exc.code, exc.details["setting"])
413 too_many_columns SHUDATA_UPLOAD_MAX_COLUMNS
>>> json_shape(b'[{"a": [1, 2]}, {"a": "[[["}]', ReadLimits())
(3, 6)
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from shudata.core.config import Settings
from shudata.core.errors import PayloadTooLarge

MB = 1 << 20


@dataclass(frozen=True)
class ReadLimits:
    """The shape bounds of one upload (defaults equal the settings' defaults)."""

    max_columns: int = 1000
    max_cells: int = 2_000_000
    max_unzipped_bytes: int = 256 * MB
    max_zip_ratio: int = 100
    max_json_depth: int = 32
    max_name_chars: int = 255

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        return cls(max_columns=settings.upload_max_columns, max_cells=settings.upload_max_cells,
                   max_unzipped_bytes=settings.upload_max_unzipped_mb * MB,
                   max_zip_ratio=settings.upload_max_zip_ratio, max_json_depth=settings.upload_max_json_depth,
                   max_name_chars=settings.upload_max_name_chars)


def too_large(code: str, zh: str, en: str, *, setting: str, limit: int, found: int | None = None) -> PayloadTooLarge:
    """A 413 naming the limit and the setting (``SHUDATA_…``) that raises it."""
    env = f"SHUDATA_{setting.upper()}"
    return PayloadTooLarge(f"{zh}（设置 {env}）；请拆分文件，或请管理员调整该设置",
                           f"{en} (setting {env}); split the file or ask the operator to raise it",
                           code=code, details={"limit": limit, "found": found, "setting": env})


def check_columns(names: Sequence[str], limits: ReadLimits) -> None:
    """Refuse more columns than ``max_columns`` and column names longer than ``max_name_chars``."""
    if len(names) > limits.max_columns:
        raise too_large("too_many_columns", f"文件有 {len(names)} 列，超过上限 {limits.max_columns} 列",
                        f"The file has {len(names)} columns, more than the limit of {limits.max_columns}",
                        setting="upload_max_columns", limit=limits.max_columns, found=len(names))
    longest = max((len(n) for n in names), default=0)
    if longest > limits.max_name_chars:
        raise too_large("column_name_too_long", f"有列名长 {longest} 个字符，超过上限 {limits.max_name_chars}",
                        f"A column name is {longest} characters long, more than the limit of "
                        f"{limits.max_name_chars}", setting="upload_max_name_chars", limit=limits.max_name_chars,
                        found=longest)


def check_width(width: int, limits: ReadLimits) -> None:
    """Refuse a row wider than ``max_columns`` (before its names are even built)."""
    if width > limits.max_columns:
        raise too_large("too_many_columns", f"文件有 {width} 列，超过上限 {limits.max_columns} 列",
                        f"The file has {width} columns, more than the limit of {limits.max_columns}",
                        setting="upload_max_columns", limit=limits.max_columns, found=width)


def check_cells(cells: int, limits: ReadLimits, *, estimated: bool = False) -> None:
    """Refuse more cells (rows × columns) than ``max_cells``."""
    if cells > limits.max_cells:
        zh_n, en_n = (f"约 {cells}", f"about {cells}") if estimated else (str(cells), str(cells))
        raise too_large("too_many_cells", f"文件有{zh_n}个单元格（行×列），超过上限 {limits.max_cells}",
                        f"The file has {en_n} cells (rows × columns), more than the limit of {limits.max_cells}",
                        setting="upload_max_cells", limit=limits.max_cells, found=cells)


# -- zip containers (XLSX) ----------------------------------------------------------------------

def check_zip(source: str | IO[bytes] | Any, limits: ReadLimits, *, max_members: int = 10_000) -> None:
    """Refuse a zip whose members would unpack beyond ``max_unzipped_bytes`` or compress more
    than ``max_zip_ratio`` : 1 (a zip bomb), from the central directory alone.

    The declared sizes are binding: :mod:`zipfile` (which openpyxl reads through) never
    returns more than a member's declared size.
    """
    try:
        with zipfile.ZipFile(source) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a readable zip: the reader refuses it with its own message
    if len(infos) > max_members:
        raise too_large("zip_too_many_members", f"压缩包内有 {len(infos)} 个文件，超过上限 {max_members}",
                        f"The archive holds {len(infos)} members, more than {max_members}",
                        setting="upload_max_unzipped_mb", limit=max_members, found=len(infos))
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped_bytes:
        raise too_large("unzipped_too_large",
                        f"文件解压后有 {total // MB} MB，超过上限 {limits.max_unzipped_bytes // MB} MB",
                        f"The file unpacks to {total // MB} MB, more than the limit of "
                        f"{limits.max_unzipped_bytes // MB} MB", setting="upload_max_unzipped_mb",
                        limit=limits.max_unzipped_bytes, found=total)
    packed = sum(i.compress_size for i in infos)
    if total > MB and total > limits.max_zip_ratio * max(packed, 1):
        ratio = total // max(packed, 1)
        raise too_large("zip_ratio_too_high",
                        f"文件压缩比为 {ratio}:1，超过上限 {limits.max_zip_ratio}:1，疑似压缩炸弹",
                        f"The file compresses {ratio}:1, more than the limit of {limits.max_zip_ratio}:1 "
                        "(a likely zip bomb)", setting="upload_max_zip_ratio", limit=limits.max_zip_ratio,
                        found=ratio)


_COUNT_RE = re.compile(rb'uniqueCount="(\d+)"')


def check_shared_strings(z: zipfile.ZipFile, limits: ReadLimits) -> None:
    """The shared-string table is loaded whole by openpyxl: it cannot hold more strings than
    the workbook may have cells."""
    try:
        with z.open("xl/sharedStrings.xml") as f:
            head = f.read(4096)
    except KeyError:
        return
    m = _COUNT_RE.search(head)
    if m is not None:
        check_cells(int(m.group(1)), limits, estimated=True)


# -- JSON ---------------------------------------------------------------------------------------

_JSON_TOKEN_RE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')


def json_shape(data: bytes, limits: ReadLimits) -> tuple[int, int]:
    """``(depth, values)`` of a JSON text by a scan of its tokens (strings skipped whole),
    refusing as soon as the nesting passes ``max_json_depth`` or the values ``max_cells``;
    the work is bounded by the limits, not by the file. A JSON Lines text counts as one
    sequence of documents.
    """
    depth = deepest = 0
    values = 0
    for m in _JSON_TOKEN_RE.finditer(data):
        c = m.group()[:1]
        if c in (b"[", b"{"):
            depth += 1
            values += 1
            if depth > deepest:
                deepest = depth
                if depth > limits.max_json_depth:
                    raise too_large("json_too_deep", f"JSON 嵌套超过 {limits.max_json_depth} 层",
                                    f"The JSON nests deeper than {limits.max_json_depth} levels",
                                    setting="upload_max_json_depth", limit=limits.max_json_depth, found=depth)
        elif c in (b"]", b"}"):
            depth = max(0, depth - 1)
        elif c == b",":
            values += 1
            if values > limits.max_cells:
                check_cells(values, limits, estimated=True)
    return deepest, values
