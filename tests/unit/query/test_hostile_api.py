"""The hostile-SQL corpus (tests/golden/sandbox/hostile.yaml) through ``POST /api/v1/query``:
every case is refused with its 4xx and leaves an audit record; the legitimate ones work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from shudata.audit.models import AuditEntry
from shudata.core.errors import ShudataError
from shudata.core.plugins import hookimpl
from shudata.query.access import ResolvedTable, TableAccess
from shudata.query.sandbox import compile_sandboxed

CORPUS: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parents[2] / "golden" / "sandbox" / "hostile.yaml").read_text(encoding="utf-8"))
VISIBLE = ("姓名", "城市", "年龄")

# Cases the pure pipeline must refuse by itself, before any engine runs.
STATIC = [c for c in CORPUS if c["status"] in (404, 422) and c.get("code") != "sql_invalid"]


def test_corpus_is_large_enough_and_labelled():
    assert len(CORPUS) >= 30
    assert all(c.get("label") and c.get("sql") and 400 <= c["status"] < 500 for c in CORPUS)
    assert len({c["label"] for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", STATIC, ids=[c["label"] for c in STATIC])
def test_pipeline_refuses_before_the_engine(case: dict[str, Any]):
    tables = {"people": ResolvedTable("s1", ("姓名", "身份证号", "城市", "年龄"), TableAccess(columns=VISIBLE)),
              "enterprise_credit": ResolvedTable("s2", ("城市",))}
    with pytest.raises(ShudataError) as info:
        compile_sandboxed(case["sql"], tables, max_rows=10)
    assert info.value.status == case["status"]
    if case.get("code"):
        assert info.value.code == case["code"]
    assert info.value.zh and info.value.en and info.value.zh != info.value.en


@pytest.fixture
def masked(rt: Any) -> Iterator[None]:
    """A masking policy that hides people.身份证号, a plugin on the test runtime's manager."""

    class HideId:
        @hookimpl
        def query_table_access(self, resource: Any) -> TableAccess | None:
            return TableAccess(columns=VISIBLE) if resource.alias == "people" else None

    name = rt.plugins.register(HideId())
    yield
    rt.plugins.unregister(name=name)


def _refusals(rt) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.outcome.in_(("rejected", "denied")))) or 0


def test_every_hostile_case_is_refused_with_4xx_and_audited(client, world, token_for, rt, masked):
    headers = token_for("a_user")
    failures = []
    for case in CORPUS:
        before = _refusals(rt)
        r = client.post("/api/v1/query", json={"sql": case["sql"]}, headers=headers)
        body = r.json()
        code = body.get("error", {}).get("code")
        if r.status_code != case["status"] or (case.get("code") and code != case["code"]):
            failures.append(f"{case['label']}: got {r.status_code} {code}, want {case['status']} {case.get('code')}")
        elif _refusals(rt) <= before:
            failures.append(f"{case['label']}: no audit record")
        elif not body["error"]["message"]:
            failures.append(f"{case['label']}: empty message")
    assert not failures, "\n".join(failures)


@pytest.mark.sqlite_only
def test_refusal_message_is_chinese_by_default_and_english_on_request(client, world, token_for):
    headers = token_for("a_user")
    zh = client.post("/api/v1/query", json={"sql": "DROP TABLE people"}, headers=headers).json()
    en = client.post("/api/v1/query?lang=en", json={"sql": "DROP TABLE people"}, headers=headers).json()
    assert "只允许只读查询" in zh["error"]["message"]
    assert "only read-only queries are allowed" in en["error"]["message"]
    syntax = client.post("/api/v1/query", json={"sql": "SELECT * FRM people"}, headers=headers).json()
    assert "第 1 行" in syntax["error"]["message"] and syntax["error"]["details"]["col"] > 0
    assert syntax["error"]["details"]["sql"] == "SELECT * FRM people"
    assert client.post("/api/v1/query", json={"sql": "SELECT 1"}).status_code == 401  # anonymous


def test_refusals_are_filed_under_the_query_action(client, world, token_for, rt):
    client.post("/api/v1/query", json={"sql": "SELECT getenv('HOME')"}, headers=token_for("a_user"))
    client.post("/api/v1/query", json={"sql": "SELECT * FROM police_cases"}, headers=token_for("a_user"))
    with rt.transaction() as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.outcome, AuditEntry.actor)
                         .where(AuditEntry.outcome != "success").order_by(AuditEntry.seq)).all()
    assert ("query.run", "rejected", "a_user") in rows
    assert ("lake.version.read", "denied", "a_user") in rows



@pytest.mark.sqlite_only
def test_refusal_audit_record_keeps_the_rejected_sql(client, world, token_for, rt):
    import json

    client.post("/api/v1/query", json={"sql": "SELECT getenv('HOME')"}, headers=token_for("a_user"))
    with rt.transaction() as s:
        details = s.scalars(select(AuditEntry.details).where(AuditEntry.outcome == "rejected")).all()
    assert any(json.loads(d).get("sql") == "SELECT getenv('HOME')" for d in details)
