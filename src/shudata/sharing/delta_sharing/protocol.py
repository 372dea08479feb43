"""Wire forms of the Delta Sharing protocol: Spark schema strings and NDJSON lines, in the
protocol's two response formats (``parquet``, the default, and ``delta``, where every line wraps
a Delta log action: ``deltaProtocol``, ``deltaMetadata``, ``deltaSingleAction``).

>>> import pyarrow as pa
>>> s = schema_string(pa.schema([("姓名", pa.string()), ("年龄", pa.int64())]))
>>> json.loads(s)["fields"][1]
{'name': '年龄', 'type': 'long', 'nullable': True, 'metadata': {}}
>>> ndjson([{"protocol": {"minReaderVersion": 1}}])
'{"protocol":{"minReaderVersion":1}}\\n'
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from shudata.core.errors import BadRequest

CONTENT_TYPE = "application/x-ndjson; charset=utf-8"
CAPABILITIES = "responseformat=parquet"
CAPABILITIES_HEADER = "delta-sharing-capabilities"
PARQUET, DELTA = "parquet", "delta"
CDF_CONFIGURATION = {"delta.enableChangeDataFeed": "true"}
CDF_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")
# The official client's Delta kernel fetches a file over HTTP only when its URL carries a
# presigned-URL query key (X-Amz-Signature, sp, X-Goog-Credential, …): delta-format URLs carry
# ``sp=r`` (the SAS "signed permission: read" key); the signature stays in the URL's path.
PRESIGNED_MARK = "sp=r"


def spark_type(t: pa.DataType) -> str | dict[str, Any]:
    """The Delta/Spark type name of an Arrow type."""
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int8(t):
        return "byte"
    if pa.types.is_int16(t):
        return "short"
    if pa.types.is_int32(t) or pa.types.is_uint8(t) or pa.types.is_uint16(t):
        return "integer"
    if pa.types.is_integer(t):
        return "long"
    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    return "string"


def schema_string(schema: pa.Schema) -> str:
    fields = [{"name": f.name, "type": spark_type(f.type), "nullable": True, "metadata": {}} for f in schema]
    return json.dumps({"type": "struct", "fields": fields}, ensure_ascii=False, separators=(",", ":"))


def ndjson(lines: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)


def protocol_line() -> dict[str, Any]:
    return {"protocol": {"minReaderVersion": 1}}


def metadata_line(table_id: str, schema: pa.Schema, *, version: int, num_files: int, size: int,
                  name: str, description: str, cdf: bool = False) -> dict[str, Any]:
    """The parquet-format ``metaData`` line; ``cdf``: the table serves its change data feed."""
    return {"metaData": {"id": table_id, "name": name, "description": description,
                         "format": {"provider": "parquet", "options": {}},
                         "schemaString": schema_string(schema), "partitionColumns": [],
                         "configuration": dict(CDF_CONFIGURATION) if cdf else {},
                         "version": version, "size": size, "numFiles": num_files}}


def file_line(f: FileRef, *, with_timestamp: bool = False) -> dict[str, Any]:
    """The parquet-format ``file`` line (``timestamp`` when the query asked for a version or a time)."""
    line: dict[str, Any] = {"url": f.url, "id": f.file_id, "partitionValues": {}, "size": f.size,
                            "stats": json.dumps({"numRecords": f.num_records}), "version": f.version,
                            "expirationTimestamp": f.expiration_ms}
    if with_timestamp:
        line["timestamp"] = f.timestamp_ms
    return {"file": line}


def response_format(header: str | None) -> str:
    """The response format to answer with for a ``delta-sharing-capabilities`` request header.

    ``delta`` only when the client asks for delta alone; with a choice (``delta,parquet``) the
    server may answer parquet, and does, since no table here needs a Delta reader feature.

    >>> response_format("responseformat=delta;readerfeatures=deletionvectors,columnmapping")
    'delta'
    >>> response_format("responseformat=delta,parquet;readerfeatures=deletionvectors"), response_format(None)
    ('parquet', 'parquet')
    """
    for part in (header or "").split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "responseformat":
            formats = [v.strip().lower() for v in value.split(",") if v.strip()]
            return DELTA if formats == [DELTA] else PARQUET
    return PARQUET


def capabilities(fmt: str) -> str:
    return f"responseformat={fmt}"


def delta_protocol_line() -> dict[str, Any]:
    """Reader version 1, writer version 4 (the change data feed's writer version)."""
    return {"protocol": {"deltaProtocol": {"minReaderVersion": 1, "minWriterVersion": 4}}}


def delta_metadata_line(table_id: str, schema: pa.Schema, *, version: int, num_files: int, size: int,
                        name: str, description: str, created_ms: int, cdf: bool) -> dict[str, Any]:
    meta = {"id": table_id, "name": name, "description": description,
            "format": {"provider": "parquet", "options": {}}, "schemaString": schema_string(schema),
            "partitionColumns": [], "configuration": dict(CDF_CONFIGURATION) if cdf else {},
            "createdTime": created_ms}
    return {"metaData": {"deltaMetadata": meta, "version": version, "size": size, "numFiles": num_files}}


@dataclass(frozen=True)
class FileRef:
    """One served file: its signed URL, stable id, size and rows, and the version it belongs to."""

    url: str
    file_id: str
    size: int
    num_records: int
    version: int
    timestamp_ms: int
    expiration_ms: int


def delta_file_line(f: FileRef, action: str = "add", *, with_version: bool = True) -> dict[str, Any]:
    """A ``file`` line wrapping a Delta ``add`` or ``cdc`` action whose path is the signed URL.

    >>> f = FileRef("http://h/f/t", "ab", 10, 2, 3, 1000, 2000)
    >>> delta_file_line(f, "cdc")["file"]["deltaSingleAction"]["cdc"]["path"]
    'http://h/f/t?sp=r'
    """
    url = f"{f.url}{'&' if '?' in f.url else '?'}{PRESIGNED_MARK}"
    act: dict[str, Any] = {"path": url, "partitionValues": {}, "size": f.size}
    if action == "add":
        act.update(modificationTime=f.timestamp_ms, dataChange=True, stats=json.dumps({"numRecords": f.num_records}))
    else:
        act["dataChange"] = False
    line: dict[str, Any] = {"id": f.file_id, "expirationTimestamp": f.expiration_ms, "deltaSingleAction": {action: act}}
    if with_version:
        line.update(version=f.version, timestamp=f.timestamp_ms)
    return {"file": line}


def change_line(f: FileRef, action: str) -> dict[str, Any]:
    """A parquet-format line of the change data feed: ``add`` (rows inserted) or ``cdf`` (a file
    with a ``_change_type`` column), with the version and its commit time."""
    line: dict[str, Any] = {"url": f.url, "id": f.file_id, "partitionValues": {}, "size": f.size,
                            "timestamp": f.timestamp_ms, "version": f.version, "expirationTimestamp": f.expiration_ms}
    if action == "add":
        line["stats"] = json.dumps({"numRecords": f.num_records})
    return {action: line}


def parse_timestamp(text: str, field: str) -> dt.datetime:
    """A protocol timestamp (ISO 8601, UTC: ``2024-01-01T00:00:00Z``; without a zone: UTC).

    >>> parse_timestamp("2024-01-02T03:04:05Z", "timestamp").isoformat()
    '2024-01-02T03:04:05+00:00'
    >>> parse_timestamp("2024-01-02 03:04:05", "timestamp").isoformat()
    '2024-01-02T03:04:05+00:00'
    """
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{field} 不是有效的时间：{text!r}；请使用 ISO 8601 UTC 时间，如 2024-01-01T00:00:00Z",
                         f"{field} is not a valid timestamp: {text!r}; use ISO 8601 in UTC, e.g. "
                         "2024-01-01T00:00:00Z", code="bad_timestamp", details={"field": field}) from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def epoch_ms(when: dt.datetime) -> int:
    return int((when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp() * 1000)
