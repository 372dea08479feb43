"""Harvesting a second shudata instance, started in the test, through its CKAN Action API:
datasets and (masked) rows arrive, a second run is incremental, a changed dataset is
re-imported, a vanished one is withdrawn, and a crashed job is closed as failed."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.errors import Conflict, NotFound, PermissionDenied
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file
from shudata.portal import harvest as H
from shudata.portal import service as P
from shudata.portal.models import HarvestJob, HarvestObject, PortalDataset
from shudata.security.schemas import DepartmentCreate
from shudata.security.service import create_department
from shudata.standards.uscc import complete
from shudata.web.app import create_app
from support.portal import NAMES, portal_files

SYSTEM = Actor.system()
REMOTE = {"stats": "401001/000001", "people": "401001/000002", "closed": "401001/000003"}


def _items(names):
    return [{"name": n, "data_type": "C", "length": 100, "description": None} for n in names]


@pytest.fixture
def remote(tmp_path, sqlite_template):
    """A second node (SQLite) with two published datasets and one 不予开放 entry."""
    db = tmp_path / "remote.db"
    shutil.copy(sqlite_template, db)
    settings = Settings(env="test", data_dir=tmp_path / "remote-data", database_url=f"sqlite:///{db}",
                        portal_rate_ip_per_min=0)
    rt = Runtime.build(settings)
    files = portal_files(tmp_path)
    with rt.transaction() as s:
        dept = create_department(session=s, actor=SYSTEM, data=DepartmentCreate(
            name="某市统计局", uscc=complete("11510100000000009"), region_code="510100"))
        spec = [("stats", "某市各区常住人口", "无条件开放", ["地区", "年份", "常住人口万人", "备注"], "人口"),
                ("people", "某市志愿者名录", "无条件开放", ["姓名", "手机号码", "所在市"], "社会"),
                ("closed", "某市内部名录", "不予开放", ["名称", "内容"], "其他")]
        for key, name, open_type, items, theme in spec:
            s.add(CatalogResource(code=REMOTE[key], name=name, classification="主题", abstract=f"{name}（远端）",
                                  category_path=f"{theme}/测试", provider_department_id=dept.id,
                                  format_category="电子表格", format_type="csv", information_items=_items(items),
                                  sharing_type=1, sharing_method="接口", open_type=open_type, update_cycle="每年",
                                  tags=["远端", theme]))
    with rt.transaction() as s:
        for key, file in (("stats", "open"), ("people", "people"), ("closed", "closed")):
            ingest_file(session=s, settings=settings, actor=SYSTEM, resource_code=REMOTE[key], path=files[file])
        for key in ("stats", "people"):
            P.publish(session=s, settings=settings, actor=SYSTEM, resource=REMOTE[key])
    from integration.conftest import LiveServer

    with LiveServer(create_app(runtime=rt, migrate=False)) as server:
        server.rt = rt  # type: ignore[attr-defined]
        server.files = files  # type: ignore[attr-defined]
        yield server
    rt.close()


@pytest.fixture
def source(rt, make_department, make_user, remote):
    dept = make_department("省大数据中心")
    admin = make_user("harvest_admin", Role.PLATFORM_ADMIN)
    with rt.transaction() as s:
        H.add_source(session=s, actor=admin, name="city", url=remote.url, department=str(dept))
    return admin, dept


def _local(rt, settings, remote_code):
    """The local published dataset harvested from a remote entry, and its served rows."""
    name = remote_code.replace("/", "-")
    with rt.transaction() as s:
        obj = s.scalar(select(HarvestObject).where(HarvestObject.remote_id == name))
        assert obj is not None and obj.resource_id is not None, name
        res = s.get(CatalogResource, obj.resource_id)
        ds = P.get_dataset(s, res.code)
        return ds.resource, pq.read_table(ds.file(settings)).to_pylist(), obj


def test_harvest_imports_incrementally_and_recovers_from_a_crash(rt, settings, remote, source, tmp_path):
    admin, dept = source
    job = H.run_harvest(rt=rt, actor=admin, source="city")
    assert job.status == "finished", job.log
    assert job.stats["found"] == 2 and job.stats["imported"] == 2 and job.stats["failed"] == 0
    assert job.stats["rows"] == 20
    res, rows, _obj = _local(rt, settings, REMOTE["people"])
    assert res.name == "某市志愿者名录" and res.provider_department_id == dept and res.open_type == "无条件开放"
    assert {"远端", "社会"} <= set(res.tags) and P.theme_of(res.category_path) == "社会"
    assert len(rows) == 10 and rows[0]["姓名"] == "张*"  # masked at the source, gated again here
    assert all("****" in r["手机号码"] for r in rows)
    assert not any(n in str(rows) for n in NAMES)
    _, stats_rows, _ = _local(rt, settings, REMOTE["stats"])
    assert len(stats_rows) == 10
    with rt.transaction() as s:  # the 不予开放 entry never left the source
        assert s.scalar(select(HarvestObject).where(HarvestObject.remote_name == REMOTE["closed"].replace("/", "-"))) \
            is None

    again = H.run_harvest(rt=rt, actor=admin, source="city")  # nothing changed: nothing re-imported
    assert again.stats["unchanged"] == 2 and again.stats["imported"] == 0 and again.stats["rows"] == 0

    changed = tmp_path / "changed.csv"  # the source publishes a new version of one dataset
    changed.write_text("地区,年份,常住人口万人,备注\n成都市,2024,2140,更新\n绵阳市,2024,490,更新\n", encoding="utf-8")
    with remote.rt.transaction() as s:
        ingest_file(session=s, settings=remote.rt.settings, actor=SYSTEM, resource_code=REMOTE["stats"],
                    path=changed)
    third = H.run_harvest(rt=rt, actor=admin, source="city")
    assert third.stats["changed"] == 1 and third.stats["imported"] == 1 and third.stats["unchanged"] == 1
    res, stats_rows, _ = _local(rt, settings, REMOTE["stats"])
    assert [r["地区"] for r in stats_rows] == ["成都市", "绵阳市"]
    with rt.transaction() as s:
        assert s.scalar(select(PortalDataset.version).where(PortalDataset.resource_id == res.id)) == 2

    with remote.rt.transaction() as s:  # withdrawn at the source → withdrawn here
        P.withdraw(session=s, settings=remote.rt.settings, actor=SYSTEM, resource=REMOTE["people"], reason="核查")
    fourth = H.run_harvest(rt=rt, actor=admin, source="city")
    assert fourth.stats["deleted"] == 1
    with pytest.raises(NotFound), rt.transaction() as s:
        P.get_dataset(s, _code_of(s, REMOTE["people"]))

    # a crash: a job left running by a process that is gone, and one with a stale heartbeat
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    with rt.transaction() as s:
        src_id = s.scalar(select(HarvestJob.source_id).limit(1))
        dead = HarvestJob(source_id=src_id, status="running", stage="fetch", pid=2**22 + 12345,
                          heartbeat_at=dt.datetime.now(dt.UTC), stats={}, log=[])
        stale = HarvestJob(source_id=src_id, status="running", stage="import", pid=None, heartbeat_at=old,
                           stats={}, log=[])
        s.add_all([dead, stale])
        s.flush()
        ids = (dead.id, stale.id)
    fifth = H.run_harvest(rt=rt, actor=admin, source="city")
    assert fifth.status == "finished"
    with rt.transaction() as s:
        for job_id in ids:
            job = s.get(HarvestJob, job_id)
            assert job.status == "failed" and job.finished_at is not None
            assert "failed" in job.log[-1]["message"]
        assert s.scalar(select(HarvestJob.id).where(HarvestJob.status == "running")) is None


def _code_of(s, remote_code):
    obj = s.scalar(select(HarvestObject).where(HarvestObject.remote_id == remote_code.replace("/", "-")))
    assert obj is not None and obj.status == "deleted"
    res = s.get(CatalogResource, obj.resource_id)
    return res.code


def test_a_live_job_blocks_a_second_run_and_sources_are_admin_only(rt, remote, source, make_user):
    admin, dept = source
    with rt.transaction() as s:
        src_id = s.scalar(select(HarvestJob.source_id).limit(1)) or H.get_source(s, "city").id
        s.add(HarvestJob(source_id=src_id, status="running", stage="fetch", pid=os.getpid(),
                         heartbeat_at=dt.datetime.now(dt.UTC), stats={}, log=[]))
    with pytest.raises(Conflict):
        H.run_harvest(rt=rt, actor=admin, source="city")
    steward = make_user("some_steward", Role.DATA_STEWARD, department_id=dept)
    with pytest.raises(PermissionDenied), rt.transaction() as s:
        H.add_source(session=s, actor=steward, name="other", url="http://x", department=str(dept))
