"""Hostile files handed to the leak tracer (``POST /api/v1/market/traces``), found by the
adversarial sweep (2026-12-07): random bytes named ``.csv`` raised ``csv.Error`` ("new-line
character seen in unquoted field") out of the header read, and a workbook without a sheet
raised ``IndexError``: both answered 500. Now 422 ``trace_file_unreadable``.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from shudata.core.types import Actor, Role

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _workbook_without_sheets() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{NS}"><sheets/></workbook>')
    return buf.getvalue()


FILES = {
    "random.csv": random.Random(7).randbytes(3000),  # binary content: csv.Error in the header read
    "nul.csv": b"a,b\x00c\n1,2\n",
    "cr.csv": b'a,"b\rc\n1,2\n'[:6] + b"\rx\r\n",
    "nosheet.xlsx": _workbook_without_sheets(),
}


@pytest.fixture
def operator(make_user: Callable[..., Actor], token_for: Callable[[str], dict[str, str]]) -> dict[str, str]:
    make_user("tr_operator", Role.MARKET_OPERATOR)
    return token_for("tr_operator")


@pytest.mark.parametrize("name", sorted(FILES))
def test_unreadable_trace_files_are_422(client: TestClient, operator: dict[str, str], name: str) -> None:
    r = client.post("/api/v1/market/traces", headers=operator,
                    files={"file": (name, FILES[name], "application/octet-stream")})
    assert r.status_code in (200, 422), r.text[:300]  # a file that happens to parse may simply not match
    if r.status_code == 422:
        assert r.json()["error"]["code"] == "trace_file_unreadable"
    else:
        assert r.json()["matched"] is False


def test_random_bytes_are_refused_as_not_a_table(client: TestClient, operator: dict[str, str]) -> None:
    r = client.post("/api/v1/market/traces", headers=operator,
                    files={"file": ("random.csv", FILES["random.csv"], "text/csv")})
    assert r.status_code == 422, r.text[:300]
    assert "文本表格" in r.json()["error"]["message"]
