"""Raw values in engine error messages, found by the adversarial sweep (2026-12-07).

A department user of the provider ran ``SELECT CAST(公民身份号码 AS DATE) FROM …`` over its
own people data: DuckDB refused it with ``date field value out of range: "110101199003077777"``,
and that message — a citizen's ID number — went into the answer and, word for word, into the
audit trail, which auditors and the platform admin read (neither may read the data raw).
Engine errors that quote the value they failed on now say which column and type instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime

ID_NUMBER = "110101199003077777"
NAME = "王小明"
PHONE = 13812345678


@pytest.fixture
def people(client: TestClient, rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor],
           token_for: Callable[[str], dict[str, str]]) -> dict[str, str]:
    """Headers of a user of the provider department of a small people table."""
    dept = make_department("省公安厅")
    steward = make_user("ev_steward", Role.DATA_STEWARD, department_id=dept)
    make_user("ev_user", Role.DEPT_USER, department_id=dept)
    data = ResourceCreate.model_validate({
        "code": "101001/000904", "name": "错误信息测试人口", "alias": "ev_people", "abstract": "测试",
        "information_items": [{"name": "姓名", "data_type": "C", "length": 20},
                              {"name": "公民身份号码", "data_type": "C", "length": 18},
                              {"name": "电话", "data_type": "I"}],
        "sharing": {"type": 1, "method": "接口"}})
    with rt.transaction() as s:
        register_resource(session=s, actor=steward, data=data)
    csv = f"姓名,公民身份号码,电话\n{NAME},{ID_NUMBER},{PHONE}\n".encode()
    r = client.post("/api/v1/resources/101001/000904/versions", headers=token_for("ev_steward"),
                    files={"file": ("人口.csv", csv, "text/csv")})
    assert r.status_code == 201, r.text
    return token_for("ev_user")


def _audited_messages(rt: Runtime) -> list[str]:
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry.details).where(AuditEntry.outcome == "rejected")).all()
    return [json.dumps(json.loads(d) if isinstance(d, str) else d, ensure_ascii=False) for d in rows]


@pytest.mark.parametrize(("sql", "raw", "column"), [
    ("SELECT CAST(公民身份号码 AS DATE) FROM ev_people", ID_NUMBER, "公民身份号码"),
    ("SELECT CAST(姓名 AS INTEGER) FROM ev_people", NAME, "姓名"),
    ("SELECT CAST(电话 AS BIGINT) * 10000000000 FROM ev_people", str(PHONE), None),
])
def test_engine_errors_do_not_echo_stored_values(client: TestClient, rt: Runtime, people: dict[str, str],
                                                 sql: str, raw: str, column: str | None) -> None:
    r = client.post("/api/v1/query", json={"sql": sql}, headers=people)
    assert r.status_code == 422, r.text[:300]
    message = r.json()["error"]["message"]
    assert raw not in message, message
    assert message.startswith("查询无法执行")
    if column:
        assert column in message  # still says where the problem is
    audited = [m for m in _audited_messages(rt) if "查询无法执行" in m]
    assert audited and not any(raw in m.replace(sql, "") for m in audited)  # the SQL itself is the caller's


def test_errors_without_values_keep_their_names(client: TestClient, people: dict[str, str]) -> None:
    r = client.post("/api/v1/query", json={"sql": "SELECT 不存在的列 FROM ev_people"}, headers=people)
    assert 400 <= r.status_code < 500
    assert "不存在的列" in r.json()["error"]["message"]


# -- rejected uploads: the uploader sees its own file's values, the audit trail does not keep them -------------

@pytest.mark.parametrize(("body", "raw"), [
    ("姓名,公民身份号码,电话\n" + "张三,1,1\n" * 2500 + f"王小明,{ID_NUMBER * 2},1\n", ID_NUMBER * 2),  # too long
    (f"姓名,公民身份号码,电话\n{NAME},1,{ID_NUMBER}x\n", f"{ID_NUMBER}x"),  # not an integer
])
def test_rejected_upload_values_stay_out_of_the_audit_trail(client: TestClient, rt: Runtime, people: dict[str, str],
                                                           token_for: Callable[[str], dict[str, str]],
                                                           body: str, raw: str) -> None:
    r = client.post("/api/v1/resources/101001/000904/versions", headers=token_for("ev_steward"),
                    files={"file": ("坏.csv", body.encode(), "text/csv")})
    assert r.status_code == 422, r.text[:300]
    assert raw[:40] in r.json()["error"]["message"]  # the uploader's own file: still shown to it
    audited = [m for m in _audited_messages(rt) if "lake.version.create" in m or "/versions" in m]
    assert audited and not any(raw[:18] in m for m in audited), audited[-1]
