"""A revoked grant, seen by the official ``delta-sharing`` client: its table is refused at once, and one
cleanup run (what ``serve`` does every ``sharing_cleanup_s``) deletes its prepared files."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from sqlalchemy import select

from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor
from shudata.sharing import cleanup, prepare, service
from shudata.sharing.models import SharingGrant
from shudata.sharing.schemas import DecisionCreate, RequestCreate, RevokeCreate

CLIENT = Path(__file__).resolve().parents[1] / ".venv-delta-sharing" / "bin" / "python"
pytestmark = [pytest.mark.sqlite_only,
              pytest.mark.skipif(not CLIENT.exists(), reason="run `make clients` to install the delta-sharing client")]
TODAY = dt.date.today()
CODE = "201001/000002"
ROWS = pa.table({"统一社会信用代码": ["91510100MA6CB8AG5D", "91510100MA6CB8AG6B", "91510700MA6CB8AG7X"],
                 "机构名称": ["成都甲公司", "成都乙公司", "绵阳丙公司"],
                 "法定代表人": ["张三", "李四", "王五"]})
LOAD = """
import json, os, sys, delta_sharing
df = delta_sharing.load_as_pandas(f"{sys.argv[1]}#{sys.argv[2]}")
print(json.dumps(df.astype(str).values.tolist(), ensure_ascii=False))
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
"""


def _client(profile: Path, table: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLIENT), "-c", LOAD, str(profile), table], capture_output=True, text=True,
                          timeout=120, check=False)


def test_a_revoked_grants_table_is_refused_and_its_files_deleted_by_one_cleanup(rt, world, live_server,
                                                                                 token_for, tmp_path):
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, CODE),
                      batches_or_table=ROWS, source_name="企业.csv", source_format="csv")
        r = service.request_access(session=s, actor=world.user, settings=rt.settings, data=RequestCreate(
            resource=CODE, fields=["统一社会信用代码", "法定代表人"], purpose="业务协同",
            basis="《税收征收管理法》", use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))
        service.decide(session=s, actor=world.steward, settings=rt.settings, request_id=r.id, data=DecisionCreate(
            decision="approve_partial", reason="仅成都企业", fields=["统一社会信用代码", "法定代表人"],
            row_filter="统一社会信用代码 LIKE '915101%'"))
    with rt.transaction() as s:
        grant = s.scalars(select(SharingGrant).where(SharingGrant.request_id == r.id)).one().id
    assert prepare.wait(timeout=60)
    prof = httpx.post(f"{live_server.url}/api/v1/sharing/profile", headers=token_for("c_user"))
    assert prof.status_code == 200
    profile = tmp_path / "shudata.share"
    profile.write_text(prof.text)
    table = f"dept_{world.consumer}.default.r_201001_000002"
    done = _client(profile, table)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout.strip().splitlines()[-1])) == [["91510100MA6CB8AG5D", "张*"],
                                                                        ["91510100MA6CB8AG6B", "李*"]]
    folder = rt.settings.data_dir / "delivery" / f"g{grant}"
    assert list(folder.glob("*.parquet"))

    with rt.transaction() as s:
        service.revoke_grant(session=s, actor=world.steward, grant_id=grant, data=RevokeCreate(reason="停止协作"))
    after = _client(profile, table)
    assert after.returncode != 0 and ("403" in after.stderr or "404" in after.stderr)
    assert folder.is_dir()  # refused at once; deleted by the next run
    removed = cleanup.run(rt.transaction, rt.settings, trigger="serve")
    assert folder in removed.folders and removed.files >= 1
    assert not folder.exists()
    again = _client(profile, table)
    assert again.returncode != 0 and ("403" in again.stderr or "404" in again.stderr)
