"""JSON (an array of objects, or an object holding one) and JSON Lines. Keys become
columns in order of first appearance; nested values are kept as JSON text.

The text is scanned first (:func:`shudata.lake.ingest.limits.json_shape`): nesting deeper
than the limit, or more values than the cell limit, is refused before it is parsed; the
keys (columns) and records × keys (cells) are checked before the rows are built.
"""

from __future__ import annotations

import json as std_json
from pathlib import Path
from typing import Any

from shudata.core.errors import InvalidInput
from shudata.lake.ingest.limits import ReadLimits, check_cells, check_width, json_shape
from shudata.lake.ingest.sheet import cell_text
from shudata.lake.ingest.source import Cell


def _records(path: Path, fmt: str, encoding: str, limits: ReadLimits) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    json_shape(raw, limits)
    text = raw.decode(encoding)
    del raw
    try:
        if fmt == "jsonl" or (not text.lstrip().startswith("[") and "\n{" in text.strip()):
            return [_obj(std_json.loads(ln), i + 1) for i, ln in enumerate(text.splitlines()) if ln.strip()]
        data = std_json.loads(text)
    except RecursionError as exc:  # the scan bounds the depth; this is the last line of defence
        raise InvalidInput("JSON 嵌套过深", "The JSON nests too deeply", code="json_too_deep") from exc
    except std_json.JSONDecodeError as exc:
        raise InvalidInput(f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}",
                           f"Malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                           code="bad_json") from exc
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else [data]
    if not isinstance(data, list):
        raise InvalidInput("JSON 应为对象数组，如 [{\"地区\": \"成都\", \"值\": 1}]",
                           "JSON must be an array of objects", code="bad_json")
    return [_obj(x, i + 1) for i, x in enumerate(data)]


def _obj(x: Any, n: int) -> dict[str, Any]:
    if not isinstance(x, dict):
        raise InvalidInput(f"JSON 第 {n} 条记录不是对象", f"JSON record {n} is not an object", code="bad_json")
    return x


def _text(v: Any) -> Cell:
    if isinstance(v, dict | list):
        return std_json.dumps(v, ensure_ascii=False)
    return cell_text(v)


def read_json(path: Path, fmt: str, encoding: str, limits: ReadLimits | None = None) -> list[list[Cell]]:
    """A header row of keys, then one row per record."""
    limits = limits or ReadLimits()
    recs = _records(path, fmt, encoding, limits)
    keys: dict[str, None] = {}
    for r in recs:
        for k in r:
            keys.setdefault(str(k), None)
        check_width(len(keys), limits)
    names = list(keys)
    check_cells(len(recs) * len(names), limits)
    return [list(names), *([_text(r.get(k)) for k in names] for r in recs)]
