"""Wire forms of the Delta Sharing protocol: Spark schema strings and NDJSON lines.

>>> import pyarrow as pa
>>> s = schema_string(pa.schema([("姓名", pa.string()), ("年龄", pa.int64())]))
>>> json.loads(s)["fields"][1]
{'name': '年龄', 'type': 'long', 'nullable': True, 'metadata': {}}
>>> ndjson([{"protocol": {"minReaderVersion": 1}}])
'{"protocol":{"minReaderVersion":1}}\\n'
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

CONTENT_TYPE = "application/x-ndjson; charset=utf-8"
CAPABILITIES = "responseformat=parquet"


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
                  name: str, description: str) -> dict[str, Any]:
    return {"metaData": {"id": table_id, "name": name, "description": description,
                         "format": {"provider": "parquet", "options": {}},
                         "schemaString": schema_string(schema), "partitionColumns": [], "configuration": {},
                         "version": version, "size": size, "numFiles": num_files}}


def file_line(*, url: str, file_id: str, size: int, num_records: int, version: int,
              expiration_ms: int) -> dict[str, Any]:
    stats = json.dumps({"numRecords": num_records})
    return {"file": {"url": url, "id": file_id, "partitionValues": {}, "size": size, "stats": stats,
                     "version": version, "expirationTimestamp": expiration_ms}}
