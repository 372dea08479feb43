"""Raw data is a department matter: the platform admin reads a department's raw rows only
when they also hold a steward or department-user role in that department. Everywhere else
(rows JSON, every download format, the SQL query service, the entry page's preview) the
admin gets a clear 403, audited as a denial, and nothing is read or written; metadata
stays visible. Runs on both metadata backends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.catalog.access import find_resource
from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime

ID_NOS = ["11010519491231002X", "510104199001011233"]
PEOPLE = pa.table({"姓名": ["张三", "李四"], "身份证号": ID_NOS, "城市": ["成都市", "绵阳市"]})
FORMATS = ("json", "csv", "xlsx", "parquet")
ZH = "平台管理员也不例外"
EN = "the platform admin is no exception"


@dataclass
class Setup:
    code: str  # 人口名单 of 四川省统计局, with raw ID numbers
    other_code: str  # an entry of 四川省公安厅
    headers: Callable[[str], dict[str, str]]


@pytest.fixture
def setup(rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor],
          token_for: Callable[..., dict[str, str]]) -> Setup:
    stats, police = make_department("四川省统计局"), make_department("四川省公安厅")
    steward = make_user("tj_steward", Role.DATA_STEWARD, department_id=stats)
    ga_steward = make_user("ga_steward", Role.DATA_STEWARD, department_id=police)
    make_user("opsadmin", Role.PLATFORM_ADMIN)  # the platform operator, no department role
    make_user("root_in_dept", Role.PLATFORM_ADMIN, department_id=stats)  # a department, but no staff role
    make_user("root_tj", Role.PLATFORM_ADMIN, Role.DATA_STEWARD, department_id=stats)  # admin *and* steward
    codes = []
    for actor, code, name in ((steward, "101001/000001", "人口名单"), (ga_steward, "301001/000001", "案件名单")):
        with rt.transaction() as s:
            res = register_resource(session=s, actor=actor, data=ResourceCreate.model_validate({
                "code": code, "alias": "people" if code.startswith("101") else "cases", "name": name,
                "abstract": f"{name}（测试）", "information_items": [{"name": c, "data_type": "C"}
                                                                 for c in PEOPLE.column_names],
                "sharing": {"type": 1, "method": "接口"}, "update_cycle": "每年"}))
            write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, res.code),
                          batches_or_table=PEOPLE, source_name="名单.csv", source_format="csv")
        codes.append(res.code)
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = token_for(username)
        return cache[username]

    return Setup(code=codes[0], other_code=codes[1], headers=headers)


def _files(rt: Runtime) -> list[str]:
    root = rt.settings.data_dir
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "meta.db" not in p.name)


def _entries(rt: Runtime, actor: str) -> list[tuple[str, str]]:
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.actor == actor).order_by(AuditEntry.id)).all()
        return [(e.action, e.outcome) for e in rows]


def _denied(r: Any) -> None:
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert err["code"] == "permission_denied" and err["details"]["action"] == "lake.version.read"
    assert ID_NOS[0] not in r.text and "张三" not in r.text


@pytest.mark.parametrize("fmt", FORMATS)
def test_platform_admin_gets_403_on_rows_in_every_format(client: Any, setup: Setup, fmt: str) -> None:
    r = client.get(f"/api/v1/resources/{setup.code}/rows", params={"format": fmt}, headers=setup.headers("opsadmin"))
    _denied(r)
    assert ZH in r.json()["error"]["message"] and "人口名单" in r.json()["error"]["message"]
    en = client.get(f"/api/v1/resources/{setup.code}/rows", params={"format": fmt, "lang": "en"},
                    headers=setup.headers("opsadmin"))
    _denied(en)
    assert EN in en.json()["error"]["message"]


def test_platform_admin_gets_403_from_the_sql_query_service(client: Any, setup: Setup) -> None:
    for sql in ('SELECT "身份证号" FROM people', 'SELECT count(*) FROM "101001/000001"',
                'SELECT * FROM cases UNION ALL SELECT * FROM people'):
        for fmt in FORMATS:
            r = client.post("/api/v1/query", params={"format": fmt}, json={"sql": sql},
                            headers=setup.headers("opsadmin"))
            _denied(r)
            assert ZH in r.json()["error"]["message"]


def test_denials_are_audited_and_nothing_is_read_or_written(client: Any, rt: Runtime, setup: Setup) -> None:
    before = _files(rt)
    for fmt in FORMATS:
        assert client.get(f"/api/v1/resources/{setup.code}/rows", params={"format": fmt},
                          headers=setup.headers("opsadmin")).status_code == 403
    assert client.post("/api/v1/query", json={"sql": "SELECT * FROM people"},
                       headers=setup.headers("opsadmin")).status_code == 403
    assert _files(rt) == before
    entries = _entries(rt, "opsadmin")
    assert ("lake.version.read", "success") not in entries and ("query.run", "success") not in entries
    assert entries.count(("lake.version.read", "denied")) == len(FORMATS) + 1
    with rt.transaction() as s:
        denied = select(AuditEntry).where(AuditEntry.actor == "opsadmin", AuditEntry.outcome == "denied")
        query_denial = s.scalars(denied.order_by(AuditEntry.id.desc())).first()
    assert query_denial is not None and query_denial.resource_id == setup.code
    assert "SELECT * FROM people" in query_denial.details and ZH in query_denial.details


def test_an_admin_with_a_department_but_no_staff_role_is_refused_too(client: Any, setup: Setup) -> None:
    _denied(client.get(f"/api/v1/resources/{setup.code}/rows", headers=setup.headers("root_in_dept")))
    _denied(client.post("/api/v1/query", json={"sql": "SELECT * FROM people"}, headers=setup.headers("root_in_dept")))


def test_admin_who_is_a_steward_of_the_department_reads_its_data_only(client: Any, setup: Setup) -> None:
    own = client.get(f"/api/v1/resources/{setup.code}/rows", headers=setup.headers("root_tj"))
    assert own.status_code == 200 and [r[1] for r in own.json()["rows"]] == ID_NOS
    q = client.post("/api/v1/query", json={"sql": 'SELECT "身份证号" FROM people ORDER BY 1'},
                    headers=setup.headers("root_tj"))
    assert q.status_code == 200 and [r[0] for r in q.json()["rows"]] == sorted(ID_NOS)
    _denied(client.get(f"/api/v1/resources/{setup.other_code}/rows", headers=setup.headers("root_tj")))
    _denied(client.post("/api/v1/query", json={"sql": "SELECT * FROM cases"}, headers=setup.headers("root_tj")))


def test_the_owning_department_still_reads_and_metadata_stays_visible(client: Any, setup: Setup) -> None:
    r = client.get(f"/api/v1/resources/{setup.code}/rows", params={"format": "csv"},
                   headers=setup.headers("tj_steward"))
    assert r.status_code == 200 and ID_NOS[0] in r.content.decode("utf-8-sig")
    admin = setup.headers("opsadmin")
    assert client.get(f"/api/v1/resources/{setup.code}", headers=admin).json()["name"] == "人口名单"
    versions = client.get(f"/api/v1/resources/{setup.code}/versions", headers=admin)
    assert versions.status_code == 200 and [v["rows"] for v in versions.json()] == [2]
    assert client.get(f"/api/v1/resources/{setup.code}/versions/1", headers=admin).status_code == 200


def test_entry_page_shows_no_rows_to_the_admin_and_the_preview_is_403(client: Any, login: Callable[[str], str],
                                                                       rt: Runtime, setup: Setup) -> None:
    login("opsadmin")
    page = client.get(f"/catalog/{setup.code}")
    assert page.status_code == 200 and "v1" in page.text and "名单.csv" in page.text
    assert 'id="preview"' not in page.text and "/rows?version=" not in page.text and "共享申请" in page.text
    assert ID_NOS[0] not in page.text
    preview = client.get(f"/catalog/{setup.code}/preview?version=1")
    assert preview.status_code == 403 and ZH in preview.text and ID_NOS[0] not in preview.text
    assert client.get(f"/catalog/{setup.code}/preview?lang=en").status_code == 403
    entries = _entries(rt, "opsadmin")
    assert entries.count(("lake.version.read", "denied")) == 2 and ("lake.version.read", "success") not in entries


def test_entry_page_preview_for_an_admin_steward_of_the_department(client: Any, login: Callable[[str], str],
                                                                    setup: Setup) -> None:
    login("root_tj")
    assert 'id="preview"' in client.get(f"/catalog/{setup.code}").text
    part = client.get(f"/catalog/{setup.code}/preview?version=1")
    assert part.status_code == 200 and ID_NOS[0] in part.text
    assert client.get(f"/catalog/{setup.other_code}/preview").status_code == 403



def test_privacy_paths_over_the_raw_data_refuse_the_admin_too(client: Any, setup: Setup) -> None:
    admin = setup.headers("opsadmin")
    _denied(client.post("/api/v1/privacy/scans", json={"resource": setup.code}, headers=admin))
    _denied(client.post("/api/v1/privacy/mask", json={"resource": setup.code, "policy": "any", "format": "json"},
                        headers=admin))
    _denied(client.post("/api/v1/privacy/dp", json={"resource": setup.code, "kind": "count", "epsilon": 0.5},
                        headers=admin))
    assert client.post("/api/v1/privacy/scans", json={"resource": setup.code},
                       headers=setup.headers("tj_steward")).status_code == 200
