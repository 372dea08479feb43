"""The download writers of :mod:`shudata.lake.export` (schema + record batches), used by
version downloads, query results and sharing deliveries alike."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from shudata.core.errors import InvalidInput
from shudata.lake import export


def _csv(table: pa.Table) -> str:
    return b"".join(export.csv_batches(table.schema, table.to_batches())).decode("utf-8-sig")


@pytest.fixture
def version(tmp_path: Path) -> list[Path]:
    """A version in two part files; the formula sits in a dictionary and a large_string column."""
    table = pa.table({"地区": pa.array(["=A1", "成都市", "+1", "德阳市"]).dictionary_encode(),
                      "备注": pa.array(["@SUM(A1)", None, "正常", "-1+2"], pa.large_string()),
                      "人口": [2140, None, 50, 345]})
    files = [tmp_path / "part-0.parquet", tmp_path / "part-1.parquet"]
    pq.write_table(table.slice(0, 2), files[0])
    pq.write_table(table.slice(2), files[1])
    return files


def test_version_csv_neutralises_dictionary_and_large_string_columns(version: list[Path]) -> None:
    body = b"".join(export.csv_stream(version))
    assert body.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(body.decode("utf-8-sig")))) == [
        ["地区", "备注", "人口"], ["'=A1", "'@SUM(A1)", "2140"], ["成都市", "", ""], ["'+1", "正常", "50"],
        ["德阳市", "'-1+2", "345"]]


def test_version_xlsx_and_parquet(version: list[Path]) -> None:
    with export.xlsx_file(version, 4, "四川/人口:表") as out:
        ws = load_workbook(out).active
    assert ws.title == "人口_表"
    assert list(ws.iter_rows(values_only=True)) == [
        ("地区", "备注", "人口"), ("'=A1", "'@SUM(A1)", 2140), ("成都市", None, None), ("'+1", "正常", 50),
        ("德阳市", "'-1+2", 345)]
    with export.parquet_file(version) as out:
        assert pq.read_table(out).num_rows == 4
        out.seek(0)
        assert pq.ParquetFile(out).metadata.row_group(0).column(0).compression == "ZSTD"


def test_version_xlsx_refuses_more_rows_than_the_sheet_holds(version: list[Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInput) as err:
        export.xlsx_file(version, 1_048_576)
    assert err.value.code == "too_many_rows_for_xlsx"
    assert err.value.zh == "该版本有 1048576 行，超过 XLSX 上限 1048575 行；请下载 CSV 或 Parquet"
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 3)  # the declared count is wrong: the rows are counted too
    with pytest.raises(InvalidInput) as err:
        export.xlsx_file(version, 2)
    assert err.value.code == "too_many_rows_for_xlsx" and "超过 XLSX 上限 3 行" in err.value.zh


def test_csv_quotes_only_where_needed() -> None:
    table = pa.table({"文本": ["a,b", 'q"x', "l\nb", "c\rd", "成都", ""], "数": [1.5, 2.0, -3.0, None, 0.0, 1e20]})
    assert _csv(table) == ('文本,数\n"a,b",1.5\n"q""x",2\n"l\nb",-3\n"c\rd",\n成都,0\n,1e+20\n')


def test_csv_one_column_null_or_empty_is_not_a_blank_line() -> None:
    assert _csv(pa.table({"x": ["", None, "a"]})) == 'x\n""\n""\na\n'


def test_csv_binary_is_hex_even_for_sliced_and_fixed_size_arrays() -> None:
    values = pa.array([b"\x00", b"\xff\x10", None, b"", b"=1"])
    fixed = pa.array([b"ab", b"=1", None, b"\x00\x01", b"zz"], pa.binary(2))
    table = pa.table({"b": values, "f": fixed}).slice(1)
    assert _csv(table) == "b,f\nff10,3d31\n,\n,0001\n3d31,7a7a\n"


def test_csv_nested_and_uncastable_columns_are_text() -> None:
    table = pa.table({"s": pa.array([{"城市": "成都", "n": 1}, None]),
                      "m": pa.array([[("k", 1)], None], pa.map_(pa.string(), pa.int64())),
                      "i": pa.array([pa.MonthDayNano([1, 2, 3]), None], pa.month_day_nano_interval())})
    rows = list(csv.reader(io.StringIO(_csv(table))))
    assert rows == [["s", "m", "i"],
                    ["{'城市': '成都', 'n': 1}", "[('k', 1)]", "MonthDayNano(months=1, days=2, nanoseconds=3)"],
                    ["", "", ""]]


def test_csv_is_the_same_whatever_the_batching(monkeypatch: pytest.MonkeyPatch) -> None:
    table = pa.table({"名称": [f"=x{i}" if i % 3 else f"行,{i}" for i in range(10)], "值": list(range(10))})
    whole = _csv(table)
    monkeypatch.setattr(export, "_CSV_CHUNK_ROWS", 3)
    batches = pa.Table.from_batches(table.to_batches(max_chunksize=4))
    assert _csv(batches) == whole and whole.count("\n") == 11
