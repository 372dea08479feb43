"""CSV ingestion, streamed and parallel.

The byte stream is cut into chunks at record boundaries (a newline outside quotes: GBK,
GB18030 and UTF-8 never use ``\\n`` or ``"`` inside a multi-byte character, so cutting
bytes is safe). Each chunk is decoded strictly, parsed by pyarrow's CSV reader as text,
converted per column spec and written as its own Parquet part; chunks run in a process
pool when the file is large. Memory stays bounded by a few chunks, whatever the file size.

Placeholders (N/A, 无, - …, :mod:`~shudata.lake.ingest.missing`) are read as NULL after
parsing and before typing; only the empty string is NULL for the parser itself, so a typed
column holding a placeholder falls back to the text parse, where it is blanked and counted.

A row with the wrong number of fields (a *ragged* row) refuses the file: every chunk is
still read, and the refusal lists every ragged row (up to :data:`RAGGED_CAP`, with the count
of the rest) with its line number and its expected and actual field counts; nothing is
written (the staging directory is discarded). pandas (``on_bad_lines="error"``) and DuckDB
(``read_csv`` without ``ignore_errors``) refuse too; a ragged row has no columns to
quarantine it by.
"""

from __future__ import annotations

import csv as std_csv
import functools
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from shudata.core.errors import InvalidInput
from shudata.lake import layout
from shudata.lake.ingest import rows as rowsmod
from shudata.lake.ingest.convert import convert_table
from shudata.lake.ingest.detect import ENCODING_LABELS, HEAD_BYTES, detect_encoding
from shudata.lake.ingest.missing import clean_rows
from shudata.lake.ingest.source import IngestOptions, Progress, SourceInfo, StageStats, empty_file
from shudata.lake.ingest.types import ColumnSpec, ConversionError, describe
from shudata.lake.ingest.workers import worker_pool
from shudata.lake.parquet import fsync_path, write_part

SERIAL_CHUNK = 4 << 20
PARALLEL_CHUNK = 4 << 20
PARALLEL_MIN_BYTES = 8 << 20
MIN_TAIL = 1 << 20
MIN_BLOCK, MAX_BLOCK = 1 << 22, 1 << 30  # pyarrow's block size: a chunk is parsed as one block
TAIL_CHARS = 256 << 10
SAMPLE_ROWS = 2000
DELIMITERS = (",", "\t", ";", "|")
RAGGED_CAP = 100  # ragged rows listed in the refusal's details
MESSAGE_ROWS = 20  # … and in its message


# -- inspection --------------------------------------------------------------------------

def parse_records(text: str, delimiter: str, limit: int | None = None) -> list[tuple[int, list[str]]]:
    """Records of ``text`` with the character offset where each one ends.

    >>> parse_records('a,b\\n"x\\ny",2\\n', ",")
    [(4, ['a', 'b']), (12, ['x\\ny', '2'])]
    """
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        for line in text.splitlines(keepends=True):
            consumed += len(line)
            yield line

    out: list[tuple[int, list[str]]] = []
    reader = std_csv.reader(lines(), delimiter=delimiter)
    try:
        for rec in reader:
            out.append((consumed, rec))
            if limit is not None and len(out) >= limit:
                break
    except std_csv.Error:
        pass  # an unterminated quote at the end of a window
    return out


def sniff_delimiter(text: str) -> str:
    """The delimiter giving the widest consistent rows.

    >>> sniff_delimiter("a\\tb\\tc\\n1\\t2\\t3\\n")
    '\\t'
    """
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    best, best_w = ",", 0
    for d in DELIMITERS:
        widths = sorted(ln.count(d) for ln in lines)
        w = widths[len(widths) // 2] if widths else 0
        if w > best_w:
            best, best_w = d, w
    return best


def inspect_csv(path: Path, name: str, options: IngestOptions) -> SourceInfo:
    """Encoding, delimiter, header row, column names, first rows and a sample of a CSV file."""
    size = path.stat().st_size
    if size == 0:
        raise empty_file(name)
    enc = detect_encoding(path, options.encoding)
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    whole = len(head) >= size
    if not whole:
        head = head[: head.rfind(b"\n") + 1] or head
    text = head.decode(enc)
    if not text.strip():
        raise empty_file(name)
    delim = sniff_delimiter(text)
    limit = SAMPLE_ROWS + rowsmod.HEAD_WINDOW + 100
    records = parse_records(text, delim, limit=limit)
    whole = whole and len(records) < limit
    raw = [r for _, r in records]
    h = (options.header_row - 1) if options.header_row else rowsmod.guess_header(raw)
    if h >= len(records):
        raise InvalidInput(f"表头行 {h + 1} 超出了文件的行数", f"Header row {h + 1} is beyond the end of the file",
                           code="bad_header_row")
    header_end, header = records[h]
    width = len(header)
    names = rowsmod.column_names(header, width)
    bom = 3 if enc == "utf-8-sig" else 0
    data_offset = bom + len(text[:header_end].encode("utf-8" if bom else enc))
    body = raw[h + 1:]
    if whole:
        footer = options.skip_footer if options.skip_footer is not None else rowsmod.footer_count(body, width)
    else:
        footer = options.skip_footer if options.skip_footer is not None else _tail_footer(path, enc, delim, width)
    data = body[: len(body) - footer] if whole and footer else body
    kept = [r for r in data if not (options.skip_sections and rowsmod.is_section_row(r, width))][:SAMPLE_ROWS]
    sample = clean_rows([list[str | None](r) for r in kept], options.missing_tokens())
    return SourceInfo(path=path, name=name, format="csv", columns=names, head_rows=[list(r) for r in raw[:30]],
                      sample=sample, header_row=h + 1, footer_rows=footer,
                      encoding=enc, delimiter=delim, data_offset=data_offset,
                      data_line=text[:header_end].count("\n") + 1, size=size)


def _tail_footer(path: Path, enc: str, delim: str, width: int) -> int:
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - TAIL_CHARS))
        data = f.read()
    data = data[data.find(b"\n") + 1:]
    try:
        text = data.decode(enc)
    except UnicodeDecodeError:
        return 0
    return rowsmod.footer_count([r for _, r in parse_records(text, delim)], width)


# -- chunk planning ------------------------------------------------------------------------

@dataclass(frozen=True)
class Chunk:
    index: int
    offset: int
    length: int
    first_line: int
    last: bool


def _cut(data: bytes) -> int | None:
    """End (exclusive) of the last complete record in ``data``, which starts at a record boundary.

    >>> _cut(b"a,b\\n1,2\\n3,"), _cut(b'a,"x\\ny"\\n1,"z\\n'), _cut(b'"x\\ny'), _cut(b"a,b")
    (8, 8, None, None)
    """
    p = data.rfind(b"\n")
    if p >= 0 and data.find(b'"', 0, p) < 0:  # no quote before it (a memchr scan, not a count)
        return p + 1
    while p >= 0:
        if data.count(b'"', 0, p) % 2 == 0:
            return p + 1
        p = data.rfind(b"\n", 0, p)
    return None


def plan_chunks(path: Path, start: int, first_line: int, chunk_bytes: int) -> Iterator[Chunk]:
    """Chunks of whole records from ``start`` to the end; the last is at least ``MIN_TAIL`` long."""
    size = path.stat().st_size
    pos, line, index = start, first_line, 0
    with path.open("rb") as f:
        while pos < size:
            if size - pos <= chunk_bytes + MIN_TAIL:
                yield Chunk(index, pos, size - pos, line, True)
                return
            f.seek(pos)
            data = f.read(chunk_bytes)
            cut = _cut(data)
            while cut is None:
                more = f.read(chunk_bytes)
                if not more:
                    cut = len(data)
                    break
                data += more
                cut = _cut(data)
            if pos + cut >= size:
                yield Chunk(index, pos, size - pos, line, True)
                return
            yield Chunk(index, pos, cut, line, False)
            line += data.count(b"\n", 0, cut)
            pos += cut
            index += 1


# -- chunk work (runs in worker processes) ------------------------------------------------------

@dataclass(frozen=True)
class ChunkTask:
    path: str
    chunk: Chunk
    encoding: str
    delimiter: str
    names: tuple[str, ...]
    specs: tuple[ColumnSpec, ...]
    skip_footer: int | None
    skip_sections: bool
    out: str
    missing: frozenset[str] | None = None


def _read(task: ChunkTask) -> bytes:
    fd = os.open(task.path, os.O_RDONLY)
    try:
        return os.pread(fd, task.chunk.length, task.chunk.offset)
    finally:
        os.close(fd)


def _error(code: str, zh: str, en: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "zh": zh, "en": en, "details": details}}


def _strip_footer(text: str, task: ChunkTask) -> tuple[str, int]:
    p = max(0, len(text) - TAIL_CHARS)
    if p:
        p = text.find("\n", p) + 1
        while p and text.count('"', 0, p) % 2:
            p = text.find("\n", p) + 1
    tail = text[p:]
    recs = parse_records(tail, task.delimiter)
    n = task.skip_footer if task.skip_footer is not None else rowsmod.footer_count(
        [r for _, r in recs], len(task.names))
    n = min(n, len(recs))
    if n == 0:
        return text, 0
    keep_end = recs[len(recs) - n - 1][0] if len(recs) > n else 0
    return text[: p + keep_end], n


def run_chunk(task: ChunkTask) -> dict[str, Any]:
    """Decode, parse, convert and write one chunk; errors come back as data (picklable)."""
    raw = _read(task)
    label = ENCODING_LABELS.get(task.encoding, task.encoding)
    footer = 0
    if task.encoding in ("utf-8", "utf-8-sig") and not task.chunk.last:
        data, valid = raw, False  # the parser validates the UTF-8 (a bad byte: mixed encodings)
    else:
        try:
            text = raw.decode(task.encoding)
        except UnicodeDecodeError as exc:
            line = task.chunk.first_line + raw.count(b"\n", 0, exc.start)
            return _error("mixed_encoding",
                          f"第 {line} 行无法按 {label} 解码：文件可能混用了多种编码；请统一编码后重新上传",
                          f"Line {line} does not decode as {label}: the file may mix encodings", line=line)
        del raw
        if task.chunk.last:
            text, footer = _strip_footer(text, task)
        data, valid = text.encode("utf-8"), True  # strict decoding checked it; Python's encoder writes valid UTF-8
        del text
    return _parse_write(data, task, footer, label, valid_utf8=valid)


def parse_types(specs: Sequence[ColumnSpec]) -> dict[str, pa.DataType]:
    """Types pyarrow's CSV reader can parse directly (the fast path); the rest stay text.

    >>> parse_types([ColumnSpec("a", "a", "I"), ColumnSpec("b", "b", "D", fmt="%Y/%m/%d")])
    {'a': DataType(int64), 'b': DataType(string)}
    """
    out: dict[str, pa.DataType] = {}
    for s in specs:
        direct = (s.data_type in ("I", "N", "Y", "F") or (s.data_type == "D" and s.fmt == "%Y-%m-%d")
                  or (s.data_type == "T" and s.fmt == "%Y-%m-%d %H:%M:%S"))
        out[s.source] = s.arrow_type if direct else pa.string()
    return out


def _parse(data: bytes, task: ChunkTask, types: dict[str, pa.DataType], on_bad: Any,
           valid_utf8: bool = False) -> pa.Table:
    """The chunk as a table, parsed as one block (the chunk is in memory already: one block
    spares the reader the search for block ends inside quoted values, and gives one Arrow chunk
    per column). ``valid_utf8``: ``data`` was written by Python's UTF-8 encoder from strictly
    decoded text, so the reader need not validate it again; raw bytes read as UTF-8 are
    validated (an invalid byte is the mixed-encoding refusal)."""
    names = list(task.names)
    if not data.strip():
        return pa.table({n: pa.array([], pa.string()) for n in names})
    return pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False,
                                       block_size=min(max(len(data) + 1, MIN_BLOCK), MAX_BLOCK)),
        parse_options=pacsv.ParseOptions(delimiter=task.delimiter, newlines_in_values=True, invalid_row_handler=on_bad),
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                              quoted_strings_can_be_null=True, check_utf8=not valid_utf8,
                                              **({} if task.missing is None else {"null_values": [""]})))


def _parse_write(data: bytes, task: ChunkTask, footer: int, label: str, valid_utf8: bool = False) -> dict[str, Any]:
    """Parse with typed columns (fast); when a value does not parse, again as text to find and name it."""
    bad: list[Any] = []

    def on_bad(row: Any) -> str:
        bad.append(row)
        return "skip"

    text_types = {n: pa.string() for n in task.names}
    typed = parse_types(task.specs)
    try:
        try:
            table = _parse(data, task, typed, on_bad, valid_utf8)
        except pa.ArrowInvalid as exc:
            if "conversion error" not in str(exc).lower() or typed == text_types:
                raise
            bad.clear()
            table = _parse(data, task, text_types, on_bad, valid_utf8)
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "UTF8" in msg or "utf8" in msg.lower():
            return _error("mixed_encoding",
                          f"第 {task.chunk.first_line} 行之后有内容不是有效的 {label}：文件可能混用了多种编码",
                          f"Text after line {task.chunk.first_line} is not valid {label}: the file may mix encodings")
        return _error("bad_csv", f"CSV 格式错误：{msg[:300]}", f"Malformed CSV: {msg[:300]}")
    if bad:
        rows, count = ragged_lines(data, task.delimiter, len(task.names), task.chunk.first_line)
        if not rows:  # the parsers disagree: still name what pyarrow saw
            rows = [{"line": None, "expected": r.expected_columns, "actual": r.actual_columns,
                     "text": (r.text or "")[:120]} for r in bad[:RAGGED_CAP]]
        return {"ragged": rows, "ragged_count": max(count, len(bad))}
    counts: dict[str, int] = {}
    try:
        out, skipped = convert_table(table, task.specs, skip_sections=task.skip_sections, missing=task.missing,
                                     counts=counts)
    except ConversionError as exc:
        return {"conversion": {"column": exc.column, "row": exc.row, "value": exc.value[:100],
                               "data_type": exc.data_type, "length": exc.length}}
    write_part(out, Path(task.out))
    fsync_path(Path(task.out))  # in the worker, in parallel; sealing the version later finds it clean
    return {"rows": out.num_rows, "skipped": skipped, "footer": footer, "missing": counts}


def ragged_lines(data: bytes, delimiter: str, width: int, first_line: int, cap: int = RAGGED_CAP
                 ) -> tuple[list[dict[str, Any]], int]:
    """The records of ``data`` (UTF-8) whose field count is not ``width``: the first ``cap`` with
    their line number (``first_line`` is the line of the first record; a quoted value may span
    lines), expected and actual counts and text, and how many there are in all. Blank lines
    are skipped, as the parser skips them.

    >>> rows, n = ragged_lines(b'1,2,3\\n4,5\\n6,7,8,9\\n"a\\nb",2,3\\n7\\n', ",", 3, 5, cap=2)
    >>> [(r["line"], r["expected"], r["actual"], r["text"]) for r in rows], n
    ([(6, 3, 2, '4,5'), (7, 3, 4, '6,7,8,9')], 3)
    """
    text = data.decode("utf-8", errors="replace")
    reader = std_csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[dict[str, Any]] = []
    count, prev = 0, 0
    try:
        for rec in reader:
            line, prev = first_line + prev, reader.line_num
            if not rec or len(rec) == width:
                continue
            count += 1
            if len(out) < cap:
                out.append({"line": line, "expected": width, "actual": len(rec),
                            "text": delimiter.join(rec)[:120]})
    except std_csv.Error:
        pass
    return out, count


def ragged_error(rows: list[dict[str, Any]], count: int, cap: int = RAGGED_CAP) -> InvalidInput:
    """One refusal naming every ragged row (the first ``cap``) and how many more there are.

    >>> e = ragged_error([{"line": 3, "expected": 4, "actual": 5, "text": "a,b,c,d,e"},
    ...                   {"line": 4, "expected": 4, "actual": 2, "text": "a,b"}], 2)
    >>> e.zh.split("：")[0], e.details["lines"]
    ('有 2 行的列数与表头（4 列）不符，文件未导入', [3, 4])
    """
    shown = rows[:cap]
    expected = shown[0]["expected"] if shown else 0
    told = shown[:MESSAGE_ROWS]
    zh_rows = "；".join(f"第 {r['line']} 行 {r['actual']} 列" if r["line"]
                       else f"一行 {r['actual']} 列（“{r['text']}”）" for r in told)
    en_rows = "; ".join(f"line {r['line']}: {r['actual']} fields" if r["line"] else f"{r['text']!r}: {r['actual']}"
                        for r in told)
    rest = count - len(told)
    zh_more = (f"；另有 {rest} 行（前 {len(shown)} 行的行号见错误详情）" if len(shown) > len(told) else
               f"；另有 {rest} 行未列出") if rest > 0 else ""
    en_more = f"; {rest} more (the first {len(shown)} are in the error details)" if rest > 0 else ""
    return InvalidInput(
        f"有 {count} 行的列数与表头（{expected} 列）不符，文件未导入：{zh_rows}{zh_more}。"
        "请检查这些行的分隔符与引号（含逗号的值须用英文双引号括起），修正后重新上传；没有写入任何数据",
        f"{count} rows do not have the header's {expected} fields; nothing was stored: {en_rows}{en_more}. "
        "Check their delimiters and quotes (values with commas must be quoted) and upload again",
        code="ragged_rows",
        details={"count": count, "expected": expected, "rows": shown, "more": max(count - len(shown), 0),
                 "lines": [r["line"] for r in shown], "line": shown[0]["line"] if shown else None})


# -- orchestration --------------------------------------------------------------------------

def stage_csv(info: SourceInfo, specs: Sequence[ColumnSpec], staging: Path, options: IngestOptions,
              progress: Progress | None = None, workers: int | None = None) -> StageStats:
    """Write the CSV's data rows into ``staging`` as Parquet parts, converted per ``specs``.

    Raises:
        InvalidInput: a line that does not decode, a ragged row, a value that does not fit.
    """
    workers = workers or min(4, os.cpu_count() or 1)
    parallel = workers > 1 and info.size - info.data_offset >= PARALLEL_MIN_BYTES
    tasks = chunk_tasks(info, specs, staging, options, PARALLEL_CHUNK if parallel else SERIAL_CHUNK)
    results = _run_parallel(tasks, workers) if parallel else ((t, run_chunk(t)) for t in tasks)
    return gather(info, results, progress)


def chunk_tasks(info: SourceInfo, specs: Sequence[ColumnSpec], staging: Path, options: IngestOptions,
                chunk_bytes: int = PARALLEL_CHUNK) -> Iterator[ChunkTask]:
    """The file's chunks as :func:`run_chunk` tasks, each writing its part into ``staging``
    (the Spark path, :mod:`shudata.jobs.spark_ingest`, runs the same tasks on executors)."""
    if info.encoding is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("info.encoding is unexpectedly None")
    for ch in plan_chunks(info.path, info.data_offset, info.data_line, chunk_bytes):
        yield ChunkTask(str(info.path), ch, info.encoding or "utf-8", info.delimiter, tuple(info.columns),
                        tuple(specs), options.skip_footer, options.skip_sections,
                        str(staging / layout.part_name(ch.index)), options.missing_tokens())


def gather(info: SourceInfo, results: Iterable[tuple[ChunkTask, dict[str, Any]]],
           progress: Progress | None = None) -> StageStats:
    """The chunks' results, in file order, as the stage's statistics.

    Raises:
        InvalidInput: the first chunk's error in file order, or every ragged row.
    """
    stats = StageStats()
    ragged: list[dict[str, Any]] = []
    ragged_count = 0
    for task, res in results:
        if "ragged" in res:
            ragged += res["ragged"][: RAGGED_CAP - len(ragged)]
            ragged_count += res["ragged_count"]
        elif not ragged_count or "error" in res:
            _absorb(stats, task, res)
        # once a ragged row is seen, later conversion problems wait: the ragged rows are reported first
        if progress is not None:
            progress(task.chunk.offset + task.chunk.length, info.size)
    if ragged_count:
        raise ragged_error(ragged, ragged_count)
    return stats


@functools.cache
def warm_compute() -> None:
    """Initialise pyarrow's comparison kernels once (the first call costs ~0.4 s), before
    forking, so the chunk workers inherit them instead of each paying it again."""
    pc.equal(pa.array(["a"]), "")
    pc.greater(pc.utf8_length(pa.array(["a"])), 0)
    pc.strptime(pa.array(["2020-01-01"]), format="%Y-%m-%d", unit="us", error_is_null=True)


def _run_parallel(tasks: Iterator[ChunkTask], workers: int) -> Iterator[tuple[ChunkTask, dict[str, Any]]]:
    warm_compute()
    with worker_pool(workers) as pool:  # forked workers that die with this process
        pending: list[tuple[ChunkTask, Future[dict[str, Any]]]] = []
        try:
            for task in tasks:
                pending.append((task, pool.submit(run_chunk, task)))
                while len(pending) > workers + 1:
                    t, fut = pending.pop(0)
                    yield t, fut.result()
            while pending:
                t, fut = pending.pop(0)
                yield t, fut.result()
        finally:
            for _, fut in pending:
                fut.cancel()


def _absorb(stats: StageStats, task: ChunkTask, res: dict[str, Any]) -> None:
    if "error" in res:
        e = res["error"]
        raise InvalidInput(e["zh"], e["en"], code=e["code"], details=e["details"])
    if "conversion" in res:
        raise conversion_error(res["conversion"], stats.rows + stats.skipped_rows)
    stats.rows += res["rows"]
    stats.skipped_rows += res["skipped"]
    stats.footer_rows += res["footer"]
    stats.files += 1
    stats.add_missing(res.get("missing") or {})


def conversion_error(c: dict[str, Any], rows_before: int) -> InvalidInput:
    """A readable refusal for a value that does not fit its information item."""
    n = rows_before + c["row"] + 1
    if c.get("length") and c["data_type"] in ("C", "M", "G", "B"):
        return InvalidInput(
            f"数据第 {n} 行“{c['column']}”列的值超过信息项长度 {c['length']}：“{c['value'][:40]}…”；"
            "请缩短该值或修改信息项长度",
            f"Data row {n}, column {c['column']!r}: value longer than the item length {c['length']}",
            code="value_too_long", details={**c, "row": n})
    return InvalidInput(
        f"数据第 {n} 行“{c['column']}”列的值“{c['value']}”不是{describe(c['data_type'])}；请修正该值或信息项类型",
        f"Data row {n}, column {c['column']!r}: {c['value']!r} is not of type {c['data_type']}",
        code="bad_value", details={**c, "row": n})
