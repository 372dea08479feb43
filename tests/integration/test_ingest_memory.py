"""Large files stream: the ingesting process grows by a bounded amount, not with the file size.

A fresh interpreter ingests a generated GBK CSV of 6 MB and one of 24 MB in the one-pass
(serial) mode with 1 MiB chunks, where every byte goes through the measured process. It first
ingests a small file through the same code (so one-off costs — imports, JIT compilation,
caches — are paid), then samples its RSS every 5 ms during the big ingest; the growth is the
peak of those samples over the RSS just before. The growth must not
depend on the file size (a reader that loaded the whole file would grow by 1.5–2× the
file, since GBK text gets larger once decoded) and stays within a few hundred MB, which is
what lets a 1 GB file through. The parallel mode holds even less in the main process: it
only plans chunks, which the workers read themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shudata.core.config import Settings

ROW = "张三{0},四川省成都市武侯区人民南路{0}号,成都市,{1},2023-01-{2:02d},{3}.25\n"
SIZES_MB = (6, 24)

SCRIPT = r"""
import json, sys, threading, time
from pathlib import Path
import psutil
from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file
from shudata.lake.ingest import csv as csvmod
from shudata.security.schemas import DepartmentCreate
from shudata.security.service import create_department
from shudata.standards.uscc import complete

settings = Settings.model_validate_json(sys.argv[1])
path, mode = Path(sys.argv[2]), sys.argv[3]
if mode == "serial":  # one pass through this process, in 1 MiB chunks (same code, smaller files suffice)
    csvmod.PARALLEL_MIN_BYTES = 1 << 62
    csvmod.SERIAL_CHUNK = 1 << 20
    csvmod.MIN_TAIL = 1 << 18
rt = Runtime.build(settings)
rt.migrate()
with rt.transaction() as s:
    d = create_department(session=s, actor=Actor.system(), data=DepartmentCreate(
        name="四川省统计局", uscc=complete("11510000000000001"), region_code="510000"))
steward = Actor(user_id=1, username="s", department_id=d.id, roles=frozenset({Role.DATA_STEWARD}))
with rt.transaction() as s:
    code = register_resource(session=s, actor=steward, data=ResourceCreate.model_validate({
        "code": "201001/000001", "name": "大文件", "abstract": "测试", "sharing": {"type": 1, "method": "接口"}})).code
warm = path.with_name("warm.csv")
with path.open("rb") as src, warm.open("wb") as dst:
    dst.writelines(line for _, line in zip(range(2000), src))
with rt.transaction() as s:  # the same code path on a small file: one-off costs are paid here
    ingest_file(session=s, settings=settings, actor=steward, resource_code=code, path=warm)
proc = psutil.Process()
before = proc.memory_info().rss
peak, done = [before], threading.Event()

def sample():
    while not done.is_set():
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.005)

sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
with rt.transaction() as s:
    v = ingest_file(session=s, settings=settings, actor=steward, resource_code=code, path=path)
done.set()
sampler.join()
print(json.dumps({"before": before, "peak": max(peak[0], proc.memory_info().rss), "rows": v.rows}))
"""


def _big_csv(path: Path, target_mb: int) -> int:
    block = "".join(ROW.format(i, 18 + i % 70, 1 + i % 28, i) for i in range(10_000)).encode("gbk")
    rows = 0
    with path.open("wb") as f:
        f.write("姓名,地址,城市,年龄,登记日期,金额\n".encode("gbk"))
        while f.tell() < target_mb << 20:
            f.write(block)
            rows += 10_000
    return rows


def _growth(tmp_path: Path, target_mb: int) -> tuple[int, int]:
    path = tmp_path / f"big{target_mb}.csv"
    rows = _big_csv(path, target_mb)
    settings = Settings(env="test", data_dir=tmp_path / f"data{target_mb}")
    out = subprocess.run([sys.executable, "-c", SCRIPT, settings.model_dump_json(), str(path), "serial"],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    m = json.loads(out.stdout.strip().splitlines()[-1])
    assert m["rows"] == rows
    return path.stat().st_size, m["peak"] - m["before"]


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_ingesting_a_large_csv_does_not_grow_with_the_file(tmp_path: Path) -> None:
    (small, grew_small), (large, grew_large) = (_growth(tmp_path, mb) for mb in SIZES_MB)
    slope = (grew_large - grew_small) / (large - small)
    assert slope < 0.25, f"memory grows with the file: +{grew_small >> 20} MB at {small >> 20} MB, " \
                         f"+{grew_large >> 20} MB at {large >> 20} MB"
    assert grew_large < 300 << 20
