"""``shudata demo``: the whole demo loads through the platform's services, idempotently.

The full load runs once per module on SQLite through the CLI (it hashes 20 passwords and
ingests every file); a smaller load runs on both backends through the ``rt`` fixture.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from shudata.audit.models import AuditEntry
from shudata.catalog import demand
from shudata.catalog import service as catalog
from shudata.catalog.models import CatalogResource, CatalogRevision
from shudata.catalog.search import search
from shudata.cli import demo_cmd
from shudata.core.clock import ensure_aware
from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.demo import analysis as demo_analysis
from shudata.demo.accounts import DEPARTMENTS, ROLE_PASSWORDS, demo_users
from shudata.demo.demands import DEMANDS
from shudata.demo.entries import ENTRIES, FileSource
from shudata.demo.loader import load_demo
from shudata.demo.rules import RULES
from shudata.lake.models import LakeVersion
from shudata.market.custody import CUSTODY_NAME
from shudata.quality import service as quality
from shudata.query.service import run_query
from shudata.security import audit_trail as audit
from shudata.security import service as security
from shudata.sharing.models import SharingRequest
from shudata.standards.uscc import is_valid_uscc
from support.demo_store import Loaded, invoke_demo, loaded_demo_copy

SYSTEM = Actor.system()
CREDIT, CPI, REAL_ESTATE, AIR = "104001/000001", "201002/000001", "201002/000002", "301001/000001"


_invoke = invoke_demo


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[tuple[Path, Loaded]]:
    """A data folder holding the demo as ``shudata demo --load-only`` loaded it, and what the command said
    (the load runs once per session; tests/e2e/test_zh_cn_pages.py gets a copy of its own)."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    yield data_dir, loaded_demo_copy(tmp_path_factory, worker_id, data_dir)


@pytest.fixture
def demo_rt(loaded: tuple[Path, Loaded]) -> Iterator[Runtime]:
    rt = Runtime.build(Settings(env="test", data_dir=loaded[0]))
    yield rt
    rt.close()


def _counts(rt: Runtime) -> dict[str, Any]:
    with rt.transaction() as s:
        return {
            "audit": s.scalar(select(func.count(AuditEntry.id))),
            "versions": s.scalar(select(func.count(LakeVersion.id))),
            "revisions": s.scalar(select(func.count(CatalogRevision.id))),
            "created_at": sorted(str(v) for v in s.scalars(select(LakeVersion.created_at))),
        }


def test_load_only_succeeds_and_prints_the_accounts(loaded: tuple[Path, Loaded]) -> None:
    _, result = loaded
    assert result.exit_code == 0, result.output
    assert "演示账号" in result.output and "admin" in result.output
    for password in ROLE_PASSWORDS.values():
        assert password in result.output
    assert "未能载入" not in result.output


def test_departments_have_valid_codes(demo_rt: Runtime) -> None:
    with demo_rt.transaction() as s:
        depts = {d.name: d for d in security.list_departments(session=s, actor=SYSTEM)}
    for spec in DEPARTMENTS:
        d = depts[spec.name]
        assert d.uscc == spec.uscc and is_valid_uscc(d.uscc, strict_org_code=True)
        assert d.uscc.startswith("11") and d.region_code == spec.region_code
    assert depts["成都市大数据中心"].region_code == "510100"


def test_every_demo_account_logs_in_with_its_printed_password(demo_rt: Runtime) -> None:
    for user in demo_users():
        with demo_rt.transaction() as s:
            actor = security.authenticate(session=s, username=user.username, password=user.password)
        assert actor.roles == frozenset({user.role})
    assert demo_users()[0].username == "admin"


def test_every_entry_is_registered_and_sourced_ones_have_data(demo_rt: Runtime) -> None:
    with demo_rt.transaction() as s:
        reads = {r.code: r for r in catalog.list_resources(session=s, actor=SYSTEM, limit=500).items}
    everything = (*ENTRIES, *demo_analysis.ENTRIES)  # the indicator system adds the national and environment series
    # the market's seller uploads its citizens and derives a k-anonymous copy: entries of the exchange's custody area
    custody = {c for c, r in reads.items() if r.provider_name == CUSTODY_NAME}
    assert len(custody) == 2
    assert set(reads) - custody == {e.code for e in everything}
    for entry in everything:
        read = reads[entry.code]
        assert read.provider_name == next(d.name for d in DEPARTMENTS if d.key == entry.provider)
        assert (read.latest_data_version == 1) == (entry.source is not None), entry.name
    assert reads["101001/000001"].base_registry == "人口"


def test_overdue_and_no_data_entries(demo_rt: Runtime) -> None:
    with demo_rt.transaction() as s:
        reads = {r.code: r for r in catalog.list_resources(session=s, actor=SYSTEM, limit=500).items}
    for code in (CPI, REAL_ESTATE):
        assert reads[code].overdue and reads[code].freshness == "overdue"
        latest = reads[code].latest_data_at
        assert latest is not None and ensure_aware(latest) < dt.datetime(2020, 6, 1, tzinfo=dt.UTC)
    assert reads[CREDIT].freshness == "fresh" and not reads[CREDIT].overdue
    assert reads[AIR].freshness == "no_data" and reads[AIR].latest_data_version is None


def test_generated_registries_have_their_sizes(demo_rt: Runtime) -> None:
    with demo_rt.transaction() as s:
        rows = {code: run_query(session=s, settings=demo_rt.settings, actor=SYSTEM,
                                sql=f'SELECT count(*) AS n FROM "{code}"').rows[0][0]
                for code in ("101001/000001", "102001/000001")}
    assert rows == {"101001/000001": 5000, "102001/000001": 1000}


def test_demand_list_has_matched_and_open_demands(demo_rt: Runtime) -> None:
    with demo_rt.transaction() as s:
        found = {d.title: d for d in demand.list_demands(session=s, actor=SYSTEM)}
        assert set(found) == {d.title for d in DEMANDS}
        for spec in DEMANDS:
            got = found[spec.title]
            assert got.resource_code == spec.answer
            assert got.status == ("matched" if spec.answer else "open")
        gdp = demand.suggest(session=s, actor=SYSTEM, demand_id=found["各省地区生产总值（年度）"].id)
    assert "分省地区生产总值（年度）" in [h.resource.name for h in gdp]


def test_an_entry_has_a_metadata_history(demo_rt: Runtime) -> None:
    with demo_rt.transaction() as s:
        history = catalog.history(session=s, actor=SYSTEM, code="202001/000001")
    assert [h.revision for h in history] == [2, 1]
    assert "tags" in history[0].changed_fields and "开放数据" in str(history[0].snapshot["tags"])


def test_base_registries_have_rules_and_a_clean_check(demo_rt: Runtime) -> None:
    with demo_rt.transaction() as s:
        for code, rules in RULES.items():
            rule_set = quality.get_rule_set(session=s, actor=SYSTEM, resource=code)
            assert rule_set is not None and len(rule_set.spec["rules"]) == len(rules)
            runs = quality.list_runs(session=s, actor=SYSTEM, resource=code)
            assert len(runs) == 1 and runs[0].scores["overall"] == 100.0, (code, runs[0].scores)


def test_the_consumer_has_granted_pending_and_refused_requests(demo_rt: Runtime) -> None:
    with demo_rt.transaction() as s:
        rows = s.execute(select(CatalogResource.code, SharingRequest.status)
                         .join(CatalogResource, CatalogResource.id == SharingRequest.resource_id)
                         .where(SharingRequest.requester == "consumer")).all()
    assert dict(rows) == {"102001/000001": "approved", "101001/000001": "pending", "303001/000001": "refused"}


def test_search_for_enterprise_credit_finds_the_entry(demo_rt: Runtime) -> None:
    with demo_rt.transaction() as s:
        result = search(session=s, actor=SYSTEM, q="企业信用")
    assert "四川省企业信用信息" in [h.resource.name for h in result.hits[:3]]


def test_the_user_guide_query_runs_for_a_department_user(demo_rt: Runtime) -> None:
    with demo_rt.transaction() as s:
        user = security.authenticate(session=s, username="tjj_user", password=ROLE_PASSWORDS[Role.DEPT_USER])
    with demo_rt.transaction() as s:
        result = run_query(session=s, settings=demo_rt.settings, actor=user,
                           sql='SELECT 地区, "2024年" FROM 分省GDP ORDER BY "2024年" DESC LIMIT 5')
    assert [r[0] for r in result.rows][:2] == ["广东省", "江苏省"]
    assert "四川省" in [r[0] for r in result.rows]


def test_running_again_changes_nothing(loaded: tuple[Path, Loaded], demo_rt: Runtime) -> None:
    before = _counts(demo_rt)
    result = _invoke(loaded[0], "--load-only")
    assert result.exit_code == 0, result.output
    assert "新建 0 项" in result.output
    assert _counts(demo_rt) == before
    with demo_rt.transaction() as s:
        assert audit.verify(session=s, actor=SYSTEM).ok


def test_demo_serves_on_loopback_8000_by_default(loaded: tuple[Path, Loaded],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []

    def fake_serve(host: str, port: int, workers: int | None) -> None:
        assert workers is None  # SHUDATA_WORKERS decides
        calls.append((host, port))

    monkeypatch.setattr(demo_cmd, "serve", fake_serve)
    result = _invoke(loaded[0])
    assert result.exit_code == 0, result.output
    assert calls == [("127.0.0.1", 8000)]
    assert "Shudata@platform1" in result.output and "http://127.0.0.1:8000/" in result.output
    result = _invoke(loaded[0], "--host", "0.0.0.0", "--port", "8123")
    assert calls[-1] == ("0.0.0.0", 8123)


# -- both backends: a smaller load -------------------------------------------------------------

def test_partial_load_is_idempotent_and_flags_overdue(rt: Runtime) -> None:
    rt.migrate()
    entries = [e for e in ENTRIES if e.code in (CREDIT, CPI, AIR)]
    admin = [u for u in demo_users() if u.username == "admin"]
    first = load_demo(rt, users=admin, entries=entries)
    assert not first.failed and first.created
    counts = _counts(rt)
    second = load_demo(rt, users=admin, entries=entries)
    assert second.created == [] and not second.failed
    assert _counts(rt) == counts
    with rt.transaction() as s:
        cpi = catalog.get_resource(session=s, actor=SYSTEM, key=CPI)
        credit = catalog.get_resource(session=s, actor=SYSTEM, key=CREDIT)
        air = catalog.get_resource(session=s, actor=SYSTEM, key=AIR)
        assert audit.verify(session=s, actor=SYSTEM).ok
    assert cpi.overdue and cpi.latest_data_at is not None
    assert ensure_aware(cpi.latest_data_at) == dt.datetime(2020, 3, 10, 1, 30, tzinfo=dt.UTC)
    assert credit.freshness == "fresh" and air.freshness == "no_data"
    with rt.transaction() as s:
        hits = search(session=s, actor=SYSTEM, q="企业信用").hits
    assert hits and hits[0].resource.name == "四川省企业信用信息"


def test_a_refused_file_is_reported_and_the_rest_still_loads(rt: Runtime) -> None:
    rt.migrate()
    cpi = next(e for e in ENTRIES if e.code == CPI)
    bad = replace(cpi, code="201002/000099", name="坏文件演示", alias=None, published_at=None,
                  source=FileSource("economy/PROVENANCE.md"))
    admin = [u for u in demo_users() if u.username == "admin"]
    report = load_demo(rt, users=admin, entries=[bad, cpi])
    assert [what for what, _ in report.failed] == ["数据 201002/000099 坏文件演示"]
    assert report.failed[0][1].status in (400, 415, 422)
    with rt.transaction() as s:
        assert catalog.get_resource(session=s, actor=SYSTEM, key=CPI).latest_data_version == 1
        assert catalog.get_resource(session=s, actor=SYSTEM, key="201002/000099").latest_data_version is None
    again = load_demo(rt, users=admin, entries=[bad, cpi])
    assert len(again.failed) == 1 and again.created == []


def test_open_entries_are_published_through_the_gate(demo_rt: Runtime) -> None:
    from shudata.portal.models import PortalPublication
    from shudata.portal.search import search_datasets

    with demo_rt.transaction() as s:
        pubs = s.scalars(select(PortalPublication)).all()
        result = search_datasets(s, q="GDP")
        everything = search_datasets(s)
    assert pubs and all(p.gate.get("rows_scanned", 0) > 0 for p in pubs)
    assert "201001/000001" in [h.resource.code for h in result.hits]  # 分省地区生产总值（年度）, tagged GDP
    published = {h.resource.code for h in everything.hits}
    closed = {"101001/000001"}  # 人口基础信息 is 不予开放
    assert published and not (published & closed)
