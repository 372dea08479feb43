"""The lake's storage contract: versions written (catalog.writes.write_version over
lake.service.store_version), time travel, crash leftovers cleaned up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.errors import NotFound, PermissionDenied
from shudata.db.runtime import Runtime
from shudata.lake import layout, parquet, service


def _write(rt: Runtime, world: Any, table: pa.Table, actor: Any = None) -> service.LakeVersion:
    with rt.transaction() as s:
        res = find_resource(s, world.blank)
        return write_version(session=s, settings=rt.settings, actor=actor or world.steward, resource=res,
                             batches_or_table=table, source_name="清洗结果", source_format="derived")


def test_write_version_numbers_versions_and_keeps_old_ones(rt: Runtime, world: Any) -> None:
    v1 = _write(rt, world, pa.table({"地区": ["成都"], "值": [1.5]}))
    v2 = _write(rt, world, pa.table({"地区": ["成都", "绵阳"], "值": [1.5, 2.0]}))
    assert (v1.version, v2.version, v1.rows, v2.rows) == (1, 2, 1, 2)
    assert v2.columns == [{"name": "地区", "type": "string"}, {"name": "值", "type": "double"}]
    assert pq.read_table(service.version_files(rt.settings, v1)).num_rows == 1
    with rt.transaction() as s:
        assert service.get_version(s, v1.resource_id, None).version == 2
        with pytest.raises(NotFound) as err:
            service.get_version(s, v1.resource_id, 7)
        assert "数据版本 7 不存在" in err.value.zh


def test_write_version_is_refused_to_another_department(rt: Runtime, world: Any) -> None:
    with pytest.raises(PermissionDenied):
        _write(rt, world, pa.table({"a": [1]}), actor=world.other_steward)
    assert not (rt.settings.lake_dir / "r").exists()


def test_cleanup_removes_unpublished_and_stale_staging_directories(rt: Runtime, world: Any) -> None:
    v1 = _write(rt, world, pa.table({"a": [1]}))
    lake = rt.settings.lake_dir
    orphan = layout.new_version_path(lake, v1.resource_id, 2)  # published, but its row never committed
    orphan.mkdir(parents=True)
    pq.write_table(pa.table({"a": [2]}), orphan / layout.part_name(0))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    stale = layout.staging_root(lake) / f"{dead.stdout.strip()}-abcdef"
    stale.mkdir(parents=True)
    mine = layout.new_staging_dir(lake)  # a live writer's staging directory
    with rt.transaction() as s:
        removed = service.cleanup(session=s, settings=rt.settings, grace_s=3600)
    assert removed == [stale]  # the orphan is recent: a writer may be about to commit it
    with rt.transaction() as s:
        removed = set(service.cleanup(session=s, settings=rt.settings, grace_s=0))  # at start-up
    assert removed == {orphan, mine}
    assert [d.name for d in layout.resource_root(lake, v1.resource_id).iterdir()] == [Path(v1.storage_path).name]


def test_staged_write_is_fsynced_and_published_by_rename(tmp_path: Path) -> None:
    res = parquet.write_staged(tmp_path, pa.table({"x": list(range(10))}))
    assert res.staging.parent == layout.staging_root(tmp_path) and res.rows == 10 and res.files == 1
    final = layout.new_version_path(tmp_path, 1, 1)
    parquet.publish(res.staging, final)
    assert not res.staging.exists() and parquet.parts(final)[0].name == "part-00000.parquet"


@pytest.mark.parametrize("bad", ["../outside", "r/../../x", "/etc"])
def test_storage_paths_cannot_leave_the_lake(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        layout.resolve(tmp_path / "lake", bad)


def test_staging_dir_names_carry_the_writer_pid(tmp_path: Path) -> None:
    assert layout.staging_pid(layout.new_staging_dir(tmp_path)) == os.getpid()
