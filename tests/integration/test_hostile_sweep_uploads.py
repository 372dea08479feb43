"""Hostile XLSX uploads found by the adversarial sweep (2026-12-07): each answered 500 before.

An XLSX is a ZIP of XML parts. A part that is not well-formed XML — damaged, or a "billion
laughs" part whose entities expand past expat's amplification limit — raised
``xml.etree.ElementTree.ParseError`` out of openpyxl, and a workbook without any sheet raised
``IndexError``; both reached the catch-all handler (500) on every endpoint that reads an
upload through the lake's readers: a new version, the preview, the quality profile and the
privacy file scan. Now each is a 4xx with a message, no version is written, and the refusal
is in the audit trail. (The catalog import already refused them; its case stays as a guard.)
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shudata.audit.models import AuditEntry
from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.lake.models import LakeVersion

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
ROOT_RELS = (f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
             f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (f'<?xml version="1.0"?><workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
            '<sheet name="数据" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
                 f'Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
SHEET = (f'<?xml version="1.0"?><worksheet xmlns="{NS}"><sheetData>'
         '<row r="1"><c r="A1" t="inlineStr"><is><t>名称</t></is></c></row>'
         '<row r="2"><c r="A2" t="inlineStr"><is><t>甲</t></is></c></row></sheetData></worksheet>')
# Seven levels of ten: 10^7 "lol"s, past expat's input amplification limit.
LAUGHS = ('<!DOCTYPE lolz [<!ENTITY l0 "lol">'
          + "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 8)) + "]>")


def xlsx(**parts: str) -> bytes:
    """A minimal one-sheet workbook; keyword arguments replace its parts."""
    members = {"[Content_Types].xml": parts.get("content_types", CONTENT_TYPES), "_rels/.rels": ROOT_RELS,
               "xl/workbook.xml": parts.get("workbook", WORKBOOK), "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
               "xl/worksheets/sheet1.xml": parts.get("sheet", SHEET)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            z.writestr(name, text)
    return buf.getvalue()


HOSTILE = {
    # each: a workbook that used to answer 500
    "laughs_in_content_types": xlsx(content_types=f'<?xml version="1.0"?>{LAUGHS}<Types>&l7;</Types>'),
    "laughs_in_sheet": xlsx(sheet=f'<?xml version="1.0"?>{LAUGHS}<worksheet xmlns="{NS}"><sheetData><row r="1">'
                                  '<c r="A1" t="inlineStr"><is><t>&l7;</t></is></c></row></sheetData></worksheet>'),
    "truncated_content_types": xlsx(content_types="<Types><unclosed>"),
    "truncated_workbook": xlsx(workbook="<workbook"),
    "truncated_sheet": xlsx(sheet=f'<?xml version="1.0"?><worksheet xmlns="{NS}"><sheetData><row r="1"><c'),
    "external_entity_in_sheet": xlsx(sheet=(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        f'<worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c>'
        '</row></sheetData></worksheet>')),
    "no_sheet": xlsx(workbook=f'<?xml version="1.0"?><workbook xmlns="{NS}"><sheets/></workbook>'),
}
ENDPOINTS = ("versions", "/api/v1/lake/preview", "/api/v1/quality/profile", "/api/v1/privacy/scans/file")


@pytest.fixture
def steward(rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor],
            token_for: Callable[[str], dict[str, str]]) -> tuple[dict[str, str], str]:
    """A steward's headers and an entry of its department (one text item)."""
    dept = make_department("省公安厅")
    actor = make_user("hx_steward", Role.DATA_STEWARD, department_id=dept)
    data = ResourceCreate.model_validate({
        "code": "101001/000901", "name": "敌意上传测试", "abstract": "测试",
        "information_items": [{"name": "名称", "data_type": "C", "length": 20}],
        "sharing": {"type": 1, "method": "接口"}})
    with rt.transaction() as s:
        code = register_resource(session=s, actor=actor, data=data).code
    return token_for("hx_steward"), code


def _counts(rt: Runtime) -> tuple[int, int]:
    """(lake versions, refusals in the audit trail)."""
    with rt.transaction() as s:
        versions = s.scalar(select(func.count()).select_from(LakeVersion)) or 0
        refused = s.scalar(select(func.count()).select_from(AuditEntry)
                           .where(AuditEntry.outcome.in_(("rejected", "denied")))) or 0
    return versions, refused


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_hostile_xlsx_is_refused_with_4xx_and_audited(client: TestClient, rt: Runtime, steward: Any,
                                                      endpoint: str, name: str) -> None:
    headers, code = steward
    url = f"/api/v1/resources/{code}/versions" if endpoint == "versions" else endpoint
    versions, refused = _counts(rt)
    r = client.post(url, headers=headers, files={"file": (f"{name}.xlsx", HOSTILE[name], XLSX_TYPE)})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    message = r.json()["error"]["message"]
    assert "XLSX" in message or "工作表" in message or "文件" in message, message
    after = _counts(rt)
    assert after[0] == versions  # nothing written
    assert after[1] == refused + 1  # the refusal is audited


def test_a_good_workbook_still_lands(client: TestClient, rt: Runtime, steward: Any) -> None:
    headers, code = steward
    r = client.post(f"/api/v1/resources/{code}/versions", headers=headers,
                    files={"file": ("好.xlsx", xlsx(), XLSX_TYPE)})
    assert r.status_code == 201, r.text
    assert r.json()["rows"] == 1


@pytest.mark.parametrize("name", ["laughs_in_sheet", "truncated_sheet"])
def test_catalog_import_with_a_damaged_resource_sheet_is_4xx(client: TestClient, steward: Any, name: str) -> None:
    headers, _ = steward
    # the import reads the sheet named 资源
    body = xlsx(workbook=WORKBOOK.replace("数据", "资源"), sheet=zipfile.ZipFile(io.BytesIO(HOSTILE[name]))
                .read("xl/worksheets/sheet1.xml").decode())
    r = client.post("/api/v1/catalog/import", headers=headers, files={"file": ("目录.xlsx", body, XLSX_TYPE)})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.json()["error"]["message"]
