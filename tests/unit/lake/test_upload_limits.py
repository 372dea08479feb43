"""Issue #14 items 3 and 11: hostile uploads, at test-friendly scale, on every upload path.

Each attack (10,000 columns, an XLSX bomb, deep or wide JSON, a 5,000-character file name, a
broken multipart body) gets a clear bilingual 4xx that names the limit and its setting, quickly,
with no version written, no file left behind and the refusal audited; a real file still goes
through. The memory tests run the readers in a fresh interpreter and sample its RSS.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.unit.lake.test_api import BASE, state, upload

from shudata.db.runtime import Runtime
from shudata.lake.ingest.limits import ReadLimits, json_shape

PROFILE = "/api/v1/quality/profile"
PREVIEW = "/api/v1/lake/preview"
SCAN = "/api/v1/privacy/scans/file"

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def xlsx_bomb(rows: int = 1000, cols: int = 1000, *, dimension: bool = True) -> bytes:
    """A minimal, valid XLSX whose one sheet has ``rows × cols`` cells (1M by default) and
    compresses ~470:1 (about 32 KB). The header row is distinct so only the limits refuse it."""
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/></Types>'),
        "_rels/.rels": (f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
                        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'<workbook {_NS} xmlns:r="{_REL}"><sheets>'
                            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
                                       f'Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in parts.items():
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            f.write(f"<worksheet {_NS}>".encode())
            if dimension:
                f.write(f'<dimension ref="A1:{_col(cols)}{rows}"/>'.encode())
            f.write(b"<sheetData><row>" + b"".join(b'<c t="inlineStr"><is><t>c%d</t></is></c>' % i
                                                   for i in range(cols)) + b"</row>")
            row = b"<row>" + b"<c><v>1</v></c>" * cols + b"</row>"
            for _ in range(rows - 1):
                f.write(row)
            f.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def _col(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def wide_csv(cols: int = 10_000, rows: int = 70) -> bytes:
    lines = [",".join(f"列{i}" for i in range(cols))] + [",".join(str(r) for _ in range(cols)) for r in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def post(client: TestClient, url: str, headers: dict[str, str], name: str, data: bytes) -> Any:
    return client.post(url, headers=headers, files={"file": (name, data)})


def raw_post(client: TestClient, url: str, headers: dict[str, str], filename: bytes, data: bytes) -> Any:
    """A multipart body built by hand (httpx would percent-encode control characters in the name)."""
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n\r\n'
            + data + b"\r\n--b--\r\n")
    return client.post(url, content=body, headers={**headers, "content-type": "multipart/form-data; boundary=b"})


def files_of(rt: Runtime) -> tuple[int, int, list[str]]:
    """``state`` without the region reference tables the profile route builds once."""
    versions, refusals, files = state(rt)
    return versions, refusals, [f for f in files if not f.startswith("quality/ref/")]


def refused(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    assert err["code"] == code, err
    return err


# -- the attacks, on every path -------------------------------------------------------------------

def test_10000_columns_are_refused_fast_on_profile_and_ingest(client: TestClient, api: Any, rt: Runtime) -> None:
    """Was: 0.8 → 16.9 GB over 139 s on /quality/profile. Now: 413 in well under a second."""
    data = wide_csv()
    before = files_of(rt)
    for url in (PROFILE, f"{BASE}/{api.world.blank}/versions", PREVIEW, SCAN):
        started = time.perf_counter()
        err = refused(post(client, url, api.steward, "wide.csv", data), 413, "too_many_columns")
        assert time.perf_counter() - started < 5, url
        assert "10000" in err["message"] and "SHUDATA_UPLOAD_MAX_COLUMNS" in err["message"]
        assert err["details"]["limit"] == 1000
    after = files_of(rt)
    assert (after[0], after[2]) == (before[0], before[2])  # no version, no file left behind
    assert after[1] == before[1] + 4  # every refusal audited
    en = client.post(PROFILE, headers={**api.steward, "Accept-Language": "en"}, files={"file": ("w.csv", data)})
    assert "10000 columns, more than the limit of 1000" in en.json()["error"]["message"]


@pytest.mark.sqlite_only
def test_profile_takes_at_most_profile_max_columns(client: TestClient, api: Any, rt: Runtime) -> None:
    """500 columns cost 290 s of CPU: profiling is bounded separately (and done in groups)."""
    refused(post(client, PROFILE, api.steward, "w.csv", wide_csv(300, 5)), 413, "too_many_columns_to_profile")
    rt.settings = rt.settings.model_copy(update={"profile_max_columns": 60})
    started = time.perf_counter()
    r = post(client, PROFILE, api.steward, "w.csv", wide_csv(60, 50))
    assert r.status_code == 200, r.text
    assert len(r.json()) == 60 and time.perf_counter() - started < 60


@pytest.mark.sqlite_only
def test_xlsx_bomb_is_refused_on_preview_profile_scan_and_ingest(client: TestClient, api: Any, rt: Runtime) -> None:
    """Was: 12 s and ~420 MB on each path. Now: 413 from the zip directory alone."""
    bomb = xlsx_bomb()
    assert len(bomb) < 64 << 10
    before = files_of(rt)
    for url in (PREVIEW, PROFILE, SCAN, f"{BASE}/{api.world.blank}/versions"):
        started = time.perf_counter()
        err = refused(post(client, url, api.steward, "bomb.xlsx", bomb), 413, "zip_ratio_too_high")
        assert time.perf_counter() - started < 2, url
        assert "SHUDATA_UPLOAD_MAX_ZIP_RATIO" in err["message"]
    after = files_of(rt)
    assert (after[0], after[2]) == (before[0], before[2]) and after[1] == before[1] + 4


@pytest.mark.sqlite_only
def test_xlsx_bomb_is_refused_by_the_catalog_import(client: TestClient, api: Any) -> None:
    started = time.perf_counter()
    r = client.post("/api/v1/catalog/import", headers=api.steward, files={"file": ("编目.xlsx", xlsx_bomb())})
    refused(r, 413, "zip_ratio_too_high")
    assert time.perf_counter() - started < 2


@pytest.mark.sqlite_only
def test_xlsx_cells_are_bounded_by_the_dimension_and_by_counting(client: TestClient, api: Any, rt: Runtime) -> None:
    rt.settings = rt.settings.model_copy(update={"upload_max_zip_ratio": 100_000, "upload_max_cells": 100_000})
    declared = xlsx_bomb(400, 400)
    started = time.perf_counter()
    err = refused(post(client, PREVIEW, api.steward, "b.xlsx", declared), 413, "too_many_cells")
    assert time.perf_counter() - started < 2  # from the dimension, before a cell is read
    assert err["details"]["found"] == 160_000
    hidden = xlsx_bomb(400, 400, dimension=False)  # no dimension: the cells are counted as they come
    err = refused(post(client, PREVIEW, api.steward, "b.xlsx", hidden), 413, "too_many_cells")
    assert 100_000 < err["details"]["found"] <= 100_400
    refused(post(client, PREVIEW, api.steward, "b.xlsx", xlsx_bomb(3, 1200)), 413, "too_many_columns")


@pytest.mark.sqlite_only
def test_xls_dimensions_are_checked_before_the_sheet_is_read(client: TestClient, api: Any, rt: Runtime,
                                                            real: Path) -> None:
    data = (real / "moe_higher_education_institutions_2017.xls").read_bytes()
    rt.settings = rt.settings.model_copy(update={"upload_max_cells": 10_000})
    err = refused(post(client, PREVIEW, api.steward, "moe.xls", data), 413, "too_many_cells")
    assert err["details"]["found"] == 2665 * 7


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("body", "code"), [
    (b"[" * 100_000 + b"]" * 100_000, "json_too_deep"),  # was a RecursionError deep in json
    (b'[{"a": ' + b'{"b": ' * 40 + b"1" + b"}" * 41 + b"]", "json_too_deep"),  # nested values, 42 deep
    (b"[" + b",".join(b'{"k%d": 1}' % i for i in range(5000)) + b"]", "too_many_columns"),  # a key per record
    (b"[" + b",".join(b"1" for _ in range(3_000_001)) + b"]", "too_many_cells"),  # values beyond the cell limit
])
def test_hostile_json_is_refused_before_it_is_parsed(client: TestClient, api: Any, body: bytes, code: str) -> None:
    started = time.perf_counter()
    refused(post(client, PREVIEW, api.steward, "x.json", body), 413, code)
    assert time.perf_counter() - started < 10


def test_json_shape_skips_strings_and_counts_values() -> None:
    assert json_shape(b'[{"a": "]]]{{{", "b": [1, 2, 3]}]', ReadLimits()) == (3, 6)
    assert json_shape(b'{"x": "\\"[[[["}\n{"x": 2}\n', ReadLimits()) == (1, 2)
    with pytest.raises(Exception, match="32"):
        json_shape(b"[" * 33, ReadLimits())


@pytest.mark.parametrize("url", [PROFILE, PREVIEW, SCAN, "versions"])
def test_a_5000_character_file_name_is_refused_not_a_500(client: TestClient, api: Any, rt: Runtime,
                                                        url: str) -> None:
    target = f"{BASE}/{api.world.people}/versions" if url == "versions" else url
    before = files_of(rt)
    err = refused(post(client, target, api.steward, "名" * 5000 + ".csv", b"a,b\n1,2\n"), 422, "filename_too_long")
    assert "5004" in err["message"]
    for weird in (b"a\x01b.csv", b"a\x00b.csv", b"../x.csv"):
        refused(raw_post(client, target, api.steward, weird, b"a,b\n1,2\n"), 422, "bad_filename")
    after = files_of(rt)
    assert (after[0], after[2]) == (before[0], before[2]) and after[1] == before[1] + 4


@pytest.mark.parametrize("body", [
    b"garbage without any boundary",
    b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n" + b"X-Pad: " + b"x" * 40_000,
    b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\na,b\n1,2\n",  # never ends
])
def test_a_malformed_multipart_body_is_a_400(client: TestClient, api: Any, rt: Runtime, body: bytes) -> None:
    before = files_of(rt)
    for url in (f"{BASE}/{api.world.people}/versions", PROFILE, SCAN):
        r = client.post(url, content=body, headers={**api.steward, "content-type": "multipart/form-data; boundary=b"})
        err = refused(r, 400, r.json()["error"]["code"])
        assert err["code"] in ("malformed_multipart", "part_headers_too_large"), err
    after = files_of(rt)
    assert (after[0], after[2]) == (before[0], before[2]) and after[1] == before[1] + 3


@pytest.mark.sqlite_only
def test_real_files_still_go_through(client: TestClient, api: Any, real: Path) -> None:
    r = upload(client, api.world.gdp, api.steward, "gdp.csv", (real / "gdp_100m_yuan.csv").read_bytes())
    assert r.status_code == 201 and r.json()["rows"] == 31
    for name in ("sichuan_a_grade_scenic_areas.xlsx", "moe_higher_education_institutions_2017.xls",
                 "province_gdp_2015-2019.xls"):
        p = post(client, PREVIEW, api.steward, name, (real / name).read_bytes())
        assert p.status_code == 200 and p.json()["columns"], (name, p.text)
    prof = post(client, PROFILE, api.steward, "gdp.csv", (real / "gdp_100m_yuan.csv").read_bytes())
    assert prof.status_code == 200 and len(prof.json()) == 20


# -- memory, measured in a fresh interpreter ------------------------------------------------------

MEASURE = r"""
import json, sys, threading, time
from pathlib import Path
import psutil
from shudata.core.errors import ShudataError
from shudata.lake.ingest import readers
from shudata.lake.ingest.limits import ReadLimits
from shudata.lake.ingest.source import IngestOptions

path, limits = Path(sys.argv[1]), ReadLimits(**json.loads(sys.argv[2]))
warm = Path(sys.argv[3])
readers.inspect(warm, warm.name, IngestOptions())  # imports and one-off costs paid here
proc = psutil.Process()
before = proc.memory_info().rss
peak, done = [before], threading.Event()

def sample():
    while not done.is_set():
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.005)

threading.Thread(target=sample, daemon=True).start()
started = time.perf_counter()
try:
    readers.inspect(path, path.name, IngestOptions(), limits)
    code = None
except ShudataError as exc:
    code = exc.code
done.set()
print(json.dumps({"code": code, "grew_mb": (max(peak[0], proc.memory_info().rss) - before) / 2**20,
                  "s": time.perf_counter() - started}))
"""


def _measure(path: Path, warm: Path, **limits: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", MEASURE, str(path), json.dumps(limits), str(warm)],
                         capture_output=True, text=True, timeout=300, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.sqlite_only
def test_memory_of_hostile_spreadsheets_is_bounded(tmp_path: Path, real: Path) -> None:
    """The 1M-cell bomb grew the old reader by ~460 MB in ~10 s. Refused from the zip
    directory, it costs nothing; read on purpose (ratio check off), it streams in read-only
    mode and is stopped at the cell limit with a fraction of that."""
    warm = real / "sichuan_a_grade_scenic_areas.xlsx"
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(xlsx_bomb())
    refused_at_once = _measure(bomb, warm)
    assert refused_at_once["code"] == "zip_ratio_too_high"
    assert refused_at_once["grew_mb"] < 20 and refused_at_once["s"] < 1
    hidden = tmp_path / "hidden.xlsx"
    hidden.write_bytes(xlsx_bomb(dimension=False))
    counted = _measure(hidden, warm, max_zip_ratio=100_000, max_cells=500_000)
    assert counted["code"] == "too_many_cells"
    assert counted["grew_mb"] < 150, counted
    wide = tmp_path / "wide.csv"
    wide.write_bytes(wide_csv())
    csv_refused = _measure(wide, warm)
    assert csv_refused["code"] == "too_many_columns" and csv_refused["grew_mb"] < 100, csv_refused
