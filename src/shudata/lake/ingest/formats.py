"""The ingest formats: one registry lists each format's detection, reader and UI accept list.

Every place that names the uploadable formats reads them from here: detection
(:func:`sniff_format`), the dispatch in :mod:`shudata.lake.ingest.readers`, the upload
page's ``accept`` attribute and help text, the API and CLI help. Adding a format is one
reader module and one entry in :data:`BUILTINS` (see ``docs/architecture.md``).

>>> sniff_format(b"PK\\x03\\x04....", "a.xlsx")
'xlsx'
>>> sniff_format(b"\\xd0\\xcf\\x11\\xe0\\xa1\\xb1\\x1a\\xe1", "a.xls")
'xls'
>>> sniff_format(b"name,age\\n", "a.csv")
'csv'
>>> sniff_format(b'[{"a": 1}]', "a.txt")
'json'
>>> accept()
'.csv,.txt,.tsv,.xlsx,.xls,.json,.jsonl,.ndjson,.parquet'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from shudata.core.errors import UnsupportedMedia
from shudata.lake.ingest import csv, json, parquet, sheet, xls, xlsx
from shudata.lake.ingest.detect import detect_encoding
from shudata.lake.ingest.limits import ReadLimits
from shudata.lake.ingest.source import Cell, IngestOptions, Progress, SourceInfo, StageStats
from shudata.lake.ingest.types import ColumnSpec

Inspect = Callable[[Path, str, IngestOptions, ReadLimits], SourceInfo]
Stage = Callable[[SourceInfo, Sequence[ColumnSpec], Path, IngestOptions, Progress | None, ReadLimits], StageStats]
Rows = tuple[list[list[Cell]], str | None, list[str], str | None]  # rows, sheet, sheet names, encoding
RowsRead = Callable[[Path, str, IngestOptions, ReadLimits], Rows]


@dataclass(frozen=True)
class IngestFormat:
    """One uploadable format.

    ``suffixes`` decide the format by the file name (after magic bytes); ``loose_suffixes``
    are accepted too, but the content decides (``.txt`` may hold CSV or JSON). ``magic``:
    the first bytes of a binary format (a file named like it without them is refused as
    damaged). ``sniff``: a content test for text formats when the name does not decide.
    ``inspect``/``stage``: the reader (see :mod:`shudata.lake.ingest.readers`).
    """

    name: str
    label: str  # as shown in lists: "CSV", "JSON Lines"
    suffixes: tuple[str, ...]
    media_types: tuple[str, ...]
    inspect: Inspect
    stage: Stage
    magic: bytes | None = None
    sniff: Callable[[bytes], bool] | None = None
    loose_suffixes: tuple[str, ...] = ()
    sheets: bool = False  # a workbook with named sheets (the sheet option applies)
    note_zh: str = ""  # shown after the label in the help text
    note_en: str = ""


# -- readers shared by the formats that read rows of cells -------------------------------------

def rows_reader(fmt: str, read: RowsRead) -> tuple[Inspect, Stage]:
    """``inspect``/``stage`` for a format whose reader returns rows of text cells (the header,
    footer and sample are found in the rows; the data rows are kept until staged)."""

    def inspect(path: Path, name: str, options: IngestOptions, limits: ReadLimits) -> SourceInfo:
        rows, chosen, sheets, enc = read(path, name, options, limits)
        info = sheet.inspect_rows(rows, name=name, fmt=fmt, options=options, sheet=chosen,
                                  sheets=sheets, path=path, size=path.stat().st_size)
        info.encoding = enc
        info.rows = sheet.data_rows(rows, info)
        return info

    def stage(info: SourceInfo, specs: Sequence[ColumnSpec], staging: Path, options: IngestOptions,
              progress: Progress | None, limits: ReadLimits) -> StageStats:
        rows = info.rows if info.rows is not None else inspect(info.path, info.name, options, limits).rows or []
        info.rows = None
        return sheet.stage_rows(rows, info, specs, staging, options, progress)

    return inspect, stage


def _read_xlsx(path: Path, name: str, options: IngestOptions, limits: ReadLimits
               ) -> Rows:
    return (*xlsx.read_xlsx(path, options.sheet, limits), None)


def _read_xls(path: Path, name: str, options: IngestOptions, limits: ReadLimits
              ) -> Rows:
    return (*xls.read_xls(path, options.sheet, limits), None)


def _read_json(fmt: str) -> RowsRead:
    def read(path: Path, name: str, options: IngestOptions, limits: ReadLimits
             ) -> Rows:
        enc = detect_encoding(path, options.encoding)
        return json.read_json(path, fmt, enc, limits), None, [], enc

    return read


def _inspect_csv(path: Path, name: str, options: IngestOptions, limits: ReadLimits) -> SourceInfo:
    return csv.inspect_csv(path, name, options)  # reads at most the first MiB and a tail


def _stage_csv(info: SourceInfo, specs: Sequence[ColumnSpec], staging: Path, options: IngestOptions,
               progress: Progress | None, limits: ReadLimits) -> StageStats:
    return csv.stage_csv(info, specs, staging, options, progress)


def _stage_parquet(info: SourceInfo, specs: Sequence[ColumnSpec], staging: Path, options: IngestOptions,
                   progress: Progress | None, limits: ReadLimits) -> StageStats:
    return parquet.stage_parquet(info, specs, staging, options, progress)


def _json_like(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{")


# -- the built-in formats: the one place that lists them ---------------------------------------

BUILTINS: tuple[IngestFormat, ...] = (
    IngestFormat("csv", "CSV", (".csv",), ("text/csv",), _inspect_csv, _stage_csv, loose_suffixes=(".txt",),
                 note_zh="（UTF-8、带 BOM、GBK、GB18030 自动识别）", note_en=" (UTF-8, BOM, GBK, GB18030 detected)"),
    IngestFormat("tsv", "TSV", (".tsv",), ("text/tab-separated-values",), _inspect_csv, _stage_csv),
    IngestFormat("xlsx", "XLSX", (".xlsx",), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",),
                 *rows_reader("xlsx", _read_xlsx), magic=b"PK\x03\x04", sheets=True),
    IngestFormat("xls", "XLS", (".xls",), ("application/vnd.ms-excel",), *rows_reader("xls", _read_xls),
                 magic=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", sheets=True),
    IngestFormat("json", "JSON", (".json",), ("application/json",), *rows_reader("json", _read_json("json")),
                 sniff=_json_like),
    IngestFormat("jsonl", "JSON Lines", (".jsonl", ".ndjson"), ("application/jsonl", "application/x-ndjson"),
                 *rows_reader("jsonl", _read_json("jsonl"))),
    IngestFormat("parquet", "Parquet", (".parquet",), ("application/vnd.apache.parquet",), parquet.inspect_parquet,
                 _stage_parquet, magic=b"PAR1"),
)
FALLBACK = "csv"  # text whose name and content decide nothing

REGISTRY: dict[str, IngestFormat] = {f.name: f for f in BUILTINS}


def get(name: str) -> IngestFormat:
    """The registered format ``name`` (refused as unsupported when there is none)."""
    fmt = REGISTRY.get(name)
    if fmt is None:
        raise UnsupportedMedia(f"不支持的文件格式 {name}；支持 {labels('zh')}",
                               f"Unsupported format {name}; {labels('en')} are supported", code="unsupported_format")
    return fmt


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def sniff_format(head: bytes, name: str) -> str:
    """The format from magic bytes, then the file name's suffix; text formats by their content."""
    for f in REGISTRY.values():
        if f.magic is not None and head.startswith(f.magic):
            return f.name
    ext = _suffix(name)
    named = next((f for f in REGISTRY.values() if ext in f.suffixes), None)
    if named is not None and named.magic is not None:
        raise UnsupportedMedia(f"文件扩展名为 {ext}，但内容不是 {named.label} 文件；请检查文件是否损坏",
                               f"The file is named {ext} but its content is not {named.label}; is it damaged?",
                               code="format_mismatch")
    if named is not None and named.name != FALLBACK:
        return named.name
    if named is None:
        for f in REGISTRY.values():
            if f.sniff is not None and f.sniff(head):
                return f.name
    return FALLBACK


def suffixes() -> tuple[str, ...]:
    """Every file-name suffix an upload may have, in registry order."""
    return tuple(s for f in REGISTRY.values() for s in (*f.suffixes, *f.loose_suffixes))


def accept() -> str:
    """The ``accept`` attribute of the upload inputs."""
    return ",".join(suffixes())


def labels(lang: str = "zh") -> str:
    """The formats as listed in messages: ``CSV、TSV、…`` (``CSV, TSV, …`` in English)."""
    return ("、" if lang == "zh" else ", ").join(f.label for f in REGISTRY.values())


def help_text(lang: str = "zh") -> str:
    """What the upload page says is supported (labels with their notes)."""
    if lang == "zh":
        return "支持 " + "、".join(f.label + f.note_zh for f in REGISTRY.values())
    return ", ".join(f.label + f.note_en for f in REGISTRY.values())


@dataclass(frozen=True)
class UploadHints:
    """What an upload page shows of the registry: the file input's ``accept`` and the help text."""

    accept: str
    help_zh: str
    help_en: str


def upload_hints() -> UploadHints:
    """The upload inputs' ``accept`` list and help text (the template global ``ingest_formats``)."""
    return UploadHints(accept(), help_text("zh"), help_text("en"))
