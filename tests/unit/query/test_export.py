"""Query and sharing downloads (:mod:`shudata.query.export`, a thin adapter over
:mod:`shudata.lake.export`) on the values that are hard to write: Chinese headers, a formula,
NULL, a nested list, bytes and a timezone-aware timestamp, in CSV, XLSX and Parquet."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from shudata.core.errors import InvalidInput
from shudata.lake import export as lake_export
from shudata.query.export import MEDIA_TYPES, WRITERS, to_csv_bytes, to_parquet_bytes, to_xlsx_bytes

UTC8 = dt.timezone(dt.timedelta(hours=8))
WHEN = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC8)
HARD = pa.table({
    "名称": ["=1+2", "成都市", None],
    "列表": pa.array([[1, 2], None, []], pa.list_(pa.int64())),
    "字节": pa.array([b"\x00\xff", None, b"=1"], pa.binary()),
    "时刻": pa.array([WHEN, None, WHEN], pa.timestamp("us", tz="+08:00")),
    "值": pa.array([1, None, 3], pa.int64()),
})
HEADER = ["名称", "列表", "字节", "时刻", "值"]


def test_csv_has_bom_chinese_header_safe_text_and_text_for_nested_and_bytes() -> None:
    body = to_csv_bytes(HARD)
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.splitlines()[:2] == ["名称,列表,字节,时刻,值",
                                     "'=1+2,\"[1, 2]\",00ff,2024-01-02 03:04:05.000000+0800,1"]
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[2] == ["成都市", "", "", "", ""]  # NULL is empty
    assert rows[3] == ["", "[]", "3d31", "2024-01-02 03:04:05.000000+0800", "3"]  # b"=1" is hex, never a formula


def test_xlsx_keeps_text_safe_and_timezone_aware_values_as_iso_text() -> None:
    wb = load_workbook(io.BytesIO(to_xlsx_bytes(HARD)))
    assert wb.sheetnames == ["查询结果"]
    rows = list(wb.active.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert rows[1] == ("'=1+2", "[1, 2]", "00ff", "2024-01-02T03:04:05+08:00", 1)
    assert rows[2] == ("成都市", None, None, None, None)
    assert rows[3] == (None, "[]", "3d31", "2024-01-02T03:04:05+08:00", 3)


def test_parquet_is_zstd_and_keeps_every_type() -> None:
    body = to_parquet_bytes(HARD)
    assert pq.read_table(io.BytesIO(body)).equals(HARD)
    assert pq.ParquetFile(io.BytesIO(body)).metadata.row_group(0).column(0).compression == "ZSTD"


def test_writers_and_media_types_cover_the_download_formats() -> None:
    assert set(WRITERS) == set(MEDIA_TYPES) == {"csv", "xlsx", "parquet"}
    assert MEDIA_TYPES["csv"] == lake_export.MEDIA_TYPES["csv"] == "text/csv; charset=utf-8"
    empty = HARD.slice(0, 0)
    assert to_csv_bytes(empty).decode("utf-8-sig") == "名称,列表,字节,时刻,值\n"
    assert list(load_workbook(io.BytesIO(to_xlsx_bytes(empty))).active.iter_rows(values_only=True)) == [
        tuple(HEADER)]
    assert pq.read_table(io.BytesIO(to_parquet_bytes(empty))).schema == HARD.schema


def test_a_column_named_like_a_formula_is_text_in_the_header_too() -> None:
    table = pa.table({"=HYPERLINK(\"http://x\")": ["a"], "-1": [2]})
    assert to_csv_bytes(table).decode("utf-8-sig").splitlines()[0] == "\"'=HYPERLINK(\"\"http://x\"\")\",'-1"
    ws = load_workbook(io.BytesIO(to_xlsx_bytes(table))).active
    assert [c.value for c in ws[1]] == ["'=HYPERLINK(\"http://x\")", "'-1"]


def test_xlsx_row_limit_applies_to_query_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lake_export, "XLSX_MAX_ROWS", 2)
    with pytest.raises(InvalidInput) as err:
        to_xlsx_bytes(HARD)
    assert err.value.code == "too_many_rows_for_xlsx"
    assert err.value.zh == "该版本有 3 行，超过 XLSX 上限 2 行；请下载 CSV 或 Parquet"
    assert len(list(load_workbook(io.BytesIO(to_xlsx_bytes(HARD.slice(0, 2)))).active.iter_rows())) == 3
