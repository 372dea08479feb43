"""The files of ended grants are deleted by the cleanup (serve's background run, ``shudata sharing
cleanup``); a live grant's files, the lake, and anything outside the delivery folders are never touched."""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from shudata.audit.models import AuditEntry
from shudata.catalog.access import find_resource
from shudata.cli.main import app
from shudata.core.clock import utcnow
from shudata.core.plugins import hookimpl
from shudata.lake.service import latest_version, version_files
from shudata.sharing import cleanup, prepare, service
from shudata.sharing.models import SharingGrant
from shudata.sharing.schemas import RevokeCreate
from support.sharing import ENTERPRISES, approve, request, store

CODE = "201001/000002"
GRANTED = ["统一社会信用代码", "法定代表人", "联系电话"]


@pytest.fixture
def granted(rt, world, client, token_for):
    """A grant with its prepared Delta Sharing file and a REST download (csv) already served."""
    with rt.transaction() as s:
        store(s, rt.settings, find_resource(s, CODE), ENTERPRISES)
        req = request(s, rt.settings, world, CODE, GRANTED)
    with rt.transaction() as s:
        approve(s, rt.settings, world, req.id, fields=GRANTED)
    assert prepare.wait(timeout=60)
    for fmt in ("csv", "parquet"):
        r = client.get("/api/v1/shared/rows", params={"resource": CODE, "format": fmt}, headers=token_for("c_user"))
        assert r.status_code == 200, r.text
    with rt.transaction() as s:
        return s.scalars(select(SharingGrant).where(SharingGrant.request_id == req.id)).one().id


def _folders(settings, gid):
    return [settings.data_dir / "delivery" / f"g{gid}", settings.data_dir / "delivery" / "downloads" / f"g{gid}"]


def _lake_files(rt):
    with rt.transaction() as s:
        return version_files(rt.settings, latest_version(s, find_resource(s, CODE).id))


def _cleanups(rt):
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "sharing.files.cleanup").order_by(AuditEntry.id))
        return [json.loads(row.details) for row in rows]


def test_a_live_grants_files_stay_and_a_revoked_grants_are_deleted(rt, world, granted):
    folders = _folders(rt.settings, granted)
    before = {f: f.stat().st_mtime_ns for d in folders for f in d.iterdir()}
    assert any(f.suffix == ".parquet" for f in before) and any(f.name.endswith(".csv.json") for f in before)
    done = cleanup.run(rt.transaction, rt.settings)
    assert (done.folders, done.files) == ([], 0)
    assert {f: f.stat().st_mtime_ns for d in folders for f in d.iterdir()} == before  # a live grant: untouched
    lake = _lake_files(rt)
    with rt.transaction() as s:
        service.revoke_grant(session=s, actor=world.steward, grant_id=granted, data=RevokeCreate(reason="停止协作"))
    size = sum(f.stat().st_size for f in before)
    done = cleanup.run(rt.transaction, rt.settings)
    assert sorted(done.folders) == sorted(folders) and done.grants == [granted]
    assert (done.files, done.bytes) == (len(before), size)
    assert not any(d.exists() for d in folders)
    assert all(os.path.exists(p) for p in lake)  # the lake's files stay
    assert _cleanups(rt)[-1] == {"trigger": "cli", "grants": 1, "entitlements": 0, "folders": 2,
                                 "files": len(before), "bytes": size}
    assert cleanup.run(rt.transaction, rt.settings).folders == []  # nothing left to do


def test_expired_and_deleted_grants_files_are_deleted(rt, granted):
    gone = rt.settings.data_dir / "delivery" / "g987654"  # a grant no longer in the database
    gone.mkdir()
    (gone / "v1-0000.parquet").write_bytes(b"PAR1")
    assert cleanup.run(rt.transaction, rt.settings).folders == [gone]
    with rt.transaction() as s:
        s.get(SharingGrant, granted).expires_at = utcnow() - dt.timedelta(minutes=1)
    done = cleanup.run(rt.transaction, rt.settings)
    assert sorted(done.folders) == sorted(_folders(rt.settings, granted))


def test_nothing_outside_the_delivery_folders_is_deleted(rt, world, granted):
    lake = _lake_files(rt)
    folder, downloads = _folders(rt.settings, granted)
    # a link to the lake inside the grant's folder, and a download's metadata naming a lake file
    (folder / "lake-link.parquet").symlink_to(lake[0])
    (folder / "lake-dir").symlink_to(rt.settings.lake_dir, target_is_directory=True)
    (downloads / "x.parquet.json").write_text(json.dumps({"rows": 3, "total": 3, "offset": 0, "file": str(lake[0])}))
    outside = rt.settings.data_dir / "keep"
    outside.mkdir()
    (outside / "a.txt").write_text("x")

    class Wrong:  # a plugin naming folders that are not delivery folders: refused
        @hookimpl
        def sharing_ended_deliveries(self, session, settings):
            return [(settings.lake_dir.parent, settings.lake_dir), (settings.data_dir, outside),
                    (settings.data_dir / "delivery", outside),
                    (settings.data_dir / "delivery", settings.data_dir / "delivery" / "downloads")]

    plugin = Wrong()
    rt.plugins.register(plugin)
    try:
        with rt.transaction() as s:
            service.revoke_grant(session=s, actor=world.steward, grant_id=granted, data=RevokeCreate(reason="停止"))
        done = cleanup.run(rt.transaction, rt.settings)
    finally:
        rt.plugins.unregister(plugin)
    assert sorted(done.folders) == sorted([folder, downloads])
    assert not folder.exists() and not downloads.exists()
    assert all(os.path.exists(p) for p in lake) and rt.settings.lake_dir.is_dir()
    assert (outside / "a.txt").read_text() == "x"
    assert (rt.settings.data_dir / "delivery" / "downloads").is_dir()


def test_the_background_run_is_once_per_node_per_interval(rt, world, granted):
    with rt.transaction() as s:
        service.revoke_grant(session=s, actor=world.steward, grant_id=granted, data=RevokeCreate(reason="停止"))
    first = cleanup.run_once_per_node(rt.transaction, rt.settings)
    assert len(first.folders) == 2 and not first.skipped
    again = cleanup.run_once_per_node(rt.transaction, rt.settings)  # another worker, just after
    assert again.skipped
    stamp = rt.settings.data_dir / "run" / "cleanup.stamp"
    old = time.time() - rt.settings.sharing_cleanup_s
    os.utime(stamp, (old, old))
    assert not cleanup.run_once_per_node(rt.transaction, rt.settings).skipped
    assert [d["trigger"] for d in _cleanups(rt)] == ["serve"]  # runs that removed nothing are not audited


def test_the_background_thread_runs_at_start(rt, world, granted):
    with rt.transaction() as s:
        service.revoke_grant(session=s, actor=world.steward, grant_id=granted, data=RevokeCreate(reason="停止"))
    cleanup.start(rt.transaction, rt.settings)
    try:
        deadline = time.monotonic() + 30
        while any(d.exists() for d in _folders(rt.settings, granted)) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        cleanup.stop()
    assert not any(d.exists() for d in _folders(rt.settings, granted))


def test_the_cli_command_prints_what_it_removed(rt, world, granted, monkeypatch):
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(rt.settings.data_dir))
    monkeypatch.setenv("SHUDATA_DATABASE_URL", rt.settings.resolved_database_url)
    with rt.transaction() as s:
        service.revoke_grant(session=s, actor=world.steward, grant_id=granted, data=RevokeCreate(reason="停止"))
    result = CliRunner().invoke(app, ["sharing", "cleanup"])
    assert result.exit_code == 0, result.output
    assert f"g{granted}" in result.output and "共享授权 1 个" in result.output
    assert not any(d.exists() for d in _folders(rt.settings, granted))
