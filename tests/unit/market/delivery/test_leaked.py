"""A found file handed in for tracing is read within the same bounds as an upload: the size cap, the
number and length of columns, and for XLSX the unpacked size, compression ratio and cells — a 413 that
names the setting, never the server's memory."""

from __future__ import annotations

import io
import zipfile

import pytest

from shudata.core.errors import InvalidInput, PayloadTooLarge
from shudata.lake.ingest.limits import ReadLimits
from shudata.market.delivery.leaked import read_leaked


def _xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_small_csv_and_xlsx_are_read_as_text() -> None:
    assert read_leaked(io.BytesIO("编号,金额\n00123,1.50\n".encode("gbk")), "a.csv").to_pylist() == [
        {"编号": "00123", "金额": "1.50"}]
    t = read_leaked(io.BytesIO(_xlsx([["编号", "金额"], ["00123", 1.5], ["00124", 2.0]])), "a.xlsx")
    assert t.column("金额").to_pylist() == ["1.5", "2"]


def test_too_many_columns_are_refused_before_reading_the_body() -> None:
    wide = ",".join(f"c{i}" for i in range(50)) + "\n" + ",".join("1" * 50) + "\n"
    with pytest.raises(PayloadTooLarge) as exc:
        read_leaked(io.BytesIO(wide.encode()), "wide.csv", ReadLimits(max_columns=20))
    assert exc.value.code == "too_many_columns" and "SHUDATA_UPLOAD_MAX_COLUMNS" in exc.value.zh


def test_an_xlsx_zip_bomb_is_refused_from_its_directory() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", "<row/>" * 2_000_000)  # ~12 MB of text compressing ~1000:1
    with pytest.raises(PayloadTooLarge) as exc:
        read_leaked(io.BytesIO(out.getvalue()), "bomb.xlsx", ReadLimits(max_unzipped_bytes=1 << 20))
    assert exc.value.code in ("unzipped_too_large", "zip_ratio_too_high")


def test_xlsx_cells_are_bounded() -> None:
    data = _xlsx([["a", "b"], *([[i, i] for i in range(3000)])])
    with pytest.raises(PayloadTooLarge) as exc:
        read_leaked(io.BytesIO(data), "many.xlsx", ReadLimits(max_cells=1000))
    assert exc.value.code == "too_many_cells"


def test_damaged_files_are_a_clear_422() -> None:
    with pytest.raises(InvalidInput) as exc:
        read_leaked(io.BytesIO(b"PK\x03\x04oops"), "x.xlsx")
    assert exc.value.code == "trace_file_unreadable" and "XLSX" in exc.value.zh


def test_the_trace_service_refuses_a_file_over_the_upload_limit(rt) -> None:
    from shudata.core.types import Actor
    from shudata.market.delivery import service

    settings = rt.settings.model_copy(update={"max_upload_mb": 1})
    big = b"a,b\n" + b"1,2\n" * 300_000  # 1.2 MB
    with rt.transaction() as s, pytest.raises(PayloadTooLarge) as exc:
        service.trace_file(session=s, settings=settings, actor=Actor.system(), content=big, filename="big.csv")
    assert exc.value.code == "payload_too_large" and "SHUDATA_MAX_UPLOAD_MB" in exc.value.zh
