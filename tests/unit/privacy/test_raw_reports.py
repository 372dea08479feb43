"""Privacy observations of a resource are for readers of its raw data (issue #14).

Scan reports (entity counts and evidence, the proposed grade), grade confirmation, risk
reports, anonymisation, DP releases and masking previews are computed on raw values. The
platform admin used to read the reports through its bypass; now it is refused like any
other department (403 ``privacy_raw_data_only``, bilingual, audited), through the API and
the pages, while the provider's steward keeps every one of them. The admin keeps what runs
the platform: keys, budgets, platform-wide policies (validated against a resource's column
names and types only, never its rows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from tests.unit.privacy.conftest import World

from shudata.audit.models import AuditEntry
from shudata.db.runtime import Runtime
from shudata.privacy.models import PrivacyDpBudget

Tokens = Callable[[str], dict[str, str]]
CODE = "101001/000009"


@pytest.fixture
def report(client: Any, world: World, token_for: Tokens) -> int:
    """The provider steward's scan report and risk report of the resource."""
    steward = token_for("steward_a")
    r = client.post("/api/v1/privacy/scans", json={"resource": "citizens"}, headers=steward)
    assert r.status_code == 200, r.text
    r = client.post("/api/v1/privacy/anonymise", json={"resource": "citizens", "quasi_identifiers": ["区划代码"],
                                                       "k": 2, "suppression": 0.2}, headers=steward)
    assert r.status_code == 200, r.text
    return int(client.get("/api/v1/privacy/scans", params={"resource": "citizens"}, headers=steward).json()[0]["id"])


REPORT, READ = "privacy_raw_data_only", "lake.version.read"  # a report on raw data / a read of it


def _calls(report_id: int) -> list[tuple[str, str, dict[str, Any] | None, str]]:
    return [
        ("GET", "/api/v1/privacy/scans?resource=citizens", None, REPORT),
        ("GET", f"/api/v1/privacy/scans/{report_id}", None, REPORT),
        ("POST", f"/api/v1/privacy/scans/{report_id}/confirm", {"grade": 1}, REPORT),
        ("POST", "/api/v1/privacy/scans", {"resource": "citizens"}, READ),
        ("POST", "/api/v1/privacy/anonymise", {"resource": "citizens", "quasi_identifiers": ["区划代码"], "k": 2},
         READ),
        ("POST", "/api/v1/privacy/dp", {"resource": "citizens", "kind": "mean", "column": "收入", "epsilon": 0.5,
                                        "lower": 0, "upper": 100000}, READ),
        ("POST", "/api/v1/privacy/mask", {"resource": "citizens", "policy": {"name": "x", "profile": "internal"},
                                          "limit": 3}, READ),
    ]


@pytest.mark.parametrize("who", ["opsadmin", "user_b"])
def test_outsiders_and_the_admin_observe_nothing(client: Any, rt: Runtime, world: World, token_for: Tokens,
                                                 report: int, who: str) -> None:
    with rt.transaction() as s:
        s.add(PrivacyDpBudget(consumer=who, epsilon_total=5.0, epsilon_spent=0.0))
    headers = token_for(who)
    for method, url, body, refusal in _calls(report):
        r = client.request(method, url, json=body, headers=headers)
        assert r.status_code == 403, (url, r.text)
        err = r.json()["error"]
        if refusal == REPORT:
            assert err["code"] == REPORT, (url, err)
        else:
            assert err["code"] == "permission_denied" and err["details"]["action"] == READ, (url, err)
    en = client.get(f"/api/v1/privacy/scans/{report}?lang=en", headers=headers).json()["error"]
    zh = client.get(f"/api/v1/privacy/scans/{report}?lang=zh", headers=headers).json()["error"]
    assert en["code"] == zh["code"] == "privacy_raw_data_only"
    assert "platform admin is no exception" in en["message"] and "平台管理员也不例外" in zh["message"]
    with rt.transaction() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.actor == who, AuditEntry.outcome == "denied")).all()
        assert len(denied) == len(_calls(report)) + 2
        assert {d.resource_id for d in denied} == {CODE}
        assert s.scalar(select(PrivacyDpBudget.epsilon_spent).where(PrivacyDpBudget.consumer == who)) == 0.0
    with rt.transaction() as s:  # the refused confirmation changed nothing
        confirmed = s.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.grade.confirm",
                                                       AuditEntry.outcome == "ok")).all()
        assert confirmed == []


def test_the_provider_steward_keeps_every_report(client: Any, world: World, token_for: Tokens, report: int) -> None:
    steward = token_for("steward_a")
    listed = client.get("/api/v1/privacy/scans", params={"resource": "citizens"}, headers=steward)
    assert listed.status_code == 200 and listed.json()[0]["proposed_grade"] == 4
    one = client.get(f"/api/v1/privacy/scans/{report}", headers=steward).json()
    assert {c["column"]: c["entity"] for c in one["columns"]}["身份证号"] == "CN_RESIDENT_ID"
    r = client.post(f"/api/v1/privacy/scans/{report}/confirm", json={"grade": 4}, headers=steward)
    assert r.status_code == 200 and r.json()["confirmed_by"] == "steward_a"


@pytest.mark.sqlite_only
def test_the_pages_refuse_the_admin_and_audit_it(client: Any, rt: Runtime, world: World, report: int) -> None:
    client.post("/login", data={"username": "opsadmin", "password": "Tianfu-Data-7"})
    r = client.get("/privacy/resources/citizens")
    assert r.status_code == 403 and "平台管理员也不例外" in r.text
    assert "CN_RESIDENT_ID" not in r.text
    assert client.get("/privacy").status_code == 200  # operators, profiles, policies: no data
    with rt.transaction() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.actor == "opsadmin", AuditEntry.outcome == "denied"))
        assert [d.action for d in denied] == ["privacy.scan.view"]


def test_file_scan_reports_are_the_uploaders_only(client: Any, world: World, token_for: Tokens) -> None:
    csv = "姓名,身份证号\n张三,513221199001016433\n李四,510104198503120021\n".encode()
    r = client.post("/api/v1/privacy/scans/file", files={"file": ("居民.csv", csv, "text/csv")},
                    headers=token_for("steward_a"))
    assert r.status_code == 200, r.text
    rid = r.json()["id"]
    assert client.get(f"/api/v1/privacy/scans/{rid}", headers=token_for("steward_a")).status_code == 200
    r = client.get(f"/api/v1/privacy/scans/{rid}", headers=token_for("opsadmin"))
    assert r.status_code == 403 and "CN_RESIDENT_ID" not in r.text


def test_the_admin_keeps_what_runs_the_platform(client: Any, world: World, token_for: Tokens) -> None:
    admin = token_for("opsadmin")
    assert client.post("/api/v1/privacy/keys", json={"key_id": "k2"}, headers=admin).status_code == 200
    assert client.put("/api/v1/privacy/dp/budgets", json={"consumer": "steward_a", "epsilon_total": 2},
                      headers=admin).status_code == 200
    # a platform-wide policy, checked against the resource's column names and types (its Parquet
    # schema), which the admin may see; the rows it may not read are never touched
    good = {"name": "通用-internal", "profile": "internal", "columns": {"身份证号": {"op": "mask_all"}}}
    r = client.post("/api/v1/privacy/policies", json={"policy": good, "resource": "citizens"}, headers=admin)
    assert r.status_code == 200, r.text
    typo = {**good, "columns": {"身份证": {"op": "mask_all"}}}
    r = client.post("/api/v1/privacy/policies", json={"policy": typo, "resource": "citizens"}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "policy_unknown_column"
    assert "身份证号" in r.json()["error"]["message"]
    assert r.json()["error"]["details"]["unknown"] == ["身份证"]
