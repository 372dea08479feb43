"""Masked files prepared in the background when a grant is made or a granted entry gets a new
version: delivery finds them ready, they are exactly what the grant allows, and nothing is
prepared for a rolled-back grant, a revoked one, or terms that changed since."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from shudata.catalog.access import find_resource
from shudata.jobs.ingest import ingest_file
from shudata.lake.service import latest_version
from shudata.sharing import delivery, masking, prepare, service
from shudata.sharing.models import SharingGrant
from shudata.sharing.schemas import RevokeCreate
from support.sharing import ENTERPRISES, approve, request, store

CODE = "201001/000002"
GRANTED = ["统一社会信用代码", "法定代表人", "联系电话"]


def _files(settings):
    return sorted((settings.data_dir / "delivery").glob("g*/*.parquet"))


def _request(s, world, rt):
    return request(s, rt.settings, world, CODE, GRANTED)


def _approve(s, world, rt, request_id):
    approve(s, rt.settings, world, request_id, fields=GRANTED, row_filter="统一社会信用代码 LIKE '915101%'")


@pytest.fixture
def versioned(rt, world):
    with rt.transaction() as s:
        store(s, rt.settings, find_resource(s, CODE), ENTERPRISES)
        req = _request(s, world, rt)
    return req.id


def test_a_grant_prepares_its_masked_file_which_delivery_then_uses(rt, world, versioned, client, token_for,
                                                                   monkeypatch):
    with rt.transaction() as s:
        _approve(s, world, rt, versioned)
        assert not _files(rt.settings)  # nothing before the commit
    assert prepare.wait(timeout=60)
    [path] = _files(rt.settings)
    table = pq.read_table(path)
    assert table.column_names == ["统一社会信用代码", "法定代表人", "联系电话"]
    assert sorted(table.to_pylist(), key=str) == [
        {"统一社会信用代码": "91510100MA6CB8AG5D", "法定代表人": "张*", "联系电话": "138****5678"},
        {"统一社会信用代码": "91510100MA6CB8AG6B", "法定代表人": "李*", "联系电话": "139****5678"}]
    # delivery serves that very file: no second export, no scan (also after the memory is dropped)
    prepare.forget_caches()
    monkeypatch.setattr(delivery, "export_parquet", _refuse("export"))
    monkeypatch.setattr(masking, "scan_table", _refuse("scan"))
    r = client.get("/api/v1/shared/rows", params={"resource": CODE}, headers=token_for("c_user"))
    assert r.status_code == 200, r.text
    assert sorted(r.json()["rows"]) == [["91510100MA6CB8AG5D", "张*", "138****5678"],
                                        ["91510100MA6CB8AG6B", "李*", "139****5678"]]
    assert _files(rt.settings) == [path]


def _refuse(what):
    def fail(*args, **kwargs):
        raise AssertionError(f"unexpected {what}")
    return fail


def test_nothing_is_prepared_for_a_rolled_back_grant(rt, world, versioned):
    with pytest.raises(RuntimeError), rt.transaction() as s:
        _approve(s, world, rt, versioned)
        raise RuntimeError("the decision fails later in the transaction")
    assert prepare.wait(timeout=60)
    assert not _files(rt.settings)


def test_changed_terms_are_never_served_from_a_file_prepared_for_older_ones(rt, world, versioned, client, token_for):
    with rt.transaction() as s:
        _approve(s, world, rt, versioned)
    assert prepare.wait(timeout=60)
    [old] = _files(rt.settings)
    with rt.transaction() as s:
        s.scalar(select(SharingGrant)).fields = ["统一社会信用代码"]
    r = client.get("/api/v1/shared/rows", params={"resource": CODE}, headers=token_for("c_user"))
    assert r.status_code == 200 and r.json()["columns"] == ["统一社会信用代码"]
    assert len(_files(rt.settings)) == 2 and old in _files(rt.settings)


def test_a_new_version_of_a_granted_entry_is_prepared_on_ingest(rt, world, versioned, tmp_path):
    with rt.transaction() as s:
        _approve(s, world, rt, versioned)
    assert prepare.wait(timeout=60)
    csv = tmp_path / "企业2.csv"
    csv.write_text("统一社会信用代码,机构名称,法定代表人,注册资本,联系电话\n"
                   "91510100MA6CB8AG8Y,成都丁公司,赵六,10,13612345678\n", encoding="utf-8")
    with rt.transaction() as s:
        ingest_file(session=s, settings=rt.settings, actor=world.steward, resource_code=CODE, path=csv)
    assert prepare.wait(timeout=60)
    files = _files(rt.settings)
    assert [f.name.split("-")[0] for f in files] == ["v1", "v2"]  # v1's signed URLs may still be in use
    assert pq.read_table(files[1]).to_pylist() == [
        {"统一社会信用代码": "91510100MA6CB8AG8Y", "法定代表人": "赵*", "联系电话": "136****5678"}]
    old = time.time() - 3 * 3600
    os.utime(files[0], (old, old))
    (files[0].parent / "v9-crashed.parquet.123-4.tmp").write_bytes(b"partial")
    os.utime(files[0].parent / "v9-crashed.parquet.123-4.tmp", (old, old))
    with rt.transaction() as s:
        ingest_file(session=s, settings=rt.settings, actor=world.steward, resource_code=CODE, path=csv)
    assert prepare.wait(timeout=60)
    assert [f.name.split("-")[0] for f in _files(rt.settings)] == ["v2", "v3"]  # superseded, URLs expired: gone
    assert not list(files[0].parent.glob("*.tmp"))


def test_revoked_grants_are_not_prepared(rt, world, versioned):
    with rt.transaction() as s:
        _approve(s, world, rt, versioned)
    assert prepare.wait(timeout=60)
    with rt.transaction() as s:
        grant = s.scalar(select(SharingGrant))
        service.revoke_grant(session=s, actor=world.steward, grant_id=grant.id, data=RevokeCreate(reason="停止协作"))
        res = find_resource(s, CODE)
        store(s, rt.settings, res, ENTERPRISES, source_name="企业3.csv")
        prepare.after_version(s, rt.settings, res.id)
    assert prepare.wait(timeout=60)
    assert [f.name.split("-")[0] for f in _files(rt.settings)] == ["v1"]


def test_concurrent_callers_share_one_export(rt, world, versioned, monkeypatch):
    with rt.transaction() as s:
        _approve(s, world, rt, versioned)
    assert prepare.wait(timeout=60)
    for f in _files(rt.settings):
        f.unlink()
    with rt.transaction() as s:
        grant = s.scalar(select(SharingGrant))
        res = find_resource(s, CODE)
        view = delivery.view_of(session=s, settings=rt.settings, grant=grant, resource=res,
                                version=latest_version(s, res.id))
    calls, real = [], delivery.export_parquet
    started, gate = threading.Event(), threading.Event()

    def slow_export(**kwargs):
        calls.append(1)
        started.set()
        gate.wait(5)
        return real(**kwargs)

    monkeypatch.setattr(delivery, "export_parquet", slow_export)
    paths: list = []
    threads = [threading.Thread(target=lambda: paths.append(delivery.masked_file(rt.settings, view)))
               for _ in range(3)]
    for t in threads:
        t.start()
    assert started.wait(5)
    time.sleep(0.2)  # the other callers reach the lock while the first one exports
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(set(paths)) == 1 and len(paths) == 3
    assert not list((rt.settings.data_dir / "delivery").glob("g*/*.tmp"))


def test_the_delta_sharing_version_call_builds_nothing(rt, world, versioned, client, token_for, monkeypatch):
    with rt.transaction() as s:
        _approve(s, world, rt, versioned)
    assert prepare.wait(timeout=60)
    prepare.forget_caches()
    shutil.rmtree(rt.settings.data_dir / "delivery")  # nothing prepared, nothing remembered
    monkeypatch.setattr(delivery, "export_parquet", _refuse("export"))
    monkeypatch.setattr(masking, "sample_table", _refuse("scan"))
    url = f"/delta-sharing/shares/dept_{world.consumer}/schemas/default/tables/r_201001_000002/version"
    r = client.get(url, headers=token_for("c_user"))
    assert r.status_code == 200 and r.headers["Delta-Table-Version"] == "1"
    assert client.get(url, headers=token_for("p_steward")).status_code == 403
