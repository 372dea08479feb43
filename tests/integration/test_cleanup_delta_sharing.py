"""A revoked grant, seen by the official ``delta-sharing`` client: its table is refused at once, and one
cleanup run (what ``serve`` does every ``sharing_cleanup_s``) deletes its prepared files."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from shudata.catalog.access import find_resource
from shudata.sharing import cleanup, prepare, service
from shudata.sharing.models import SharingGrant
from shudata.sharing.schemas import RevokeCreate
from support.sharing import ENTERPRISES, NEEDS_CLIENT, approve, client_load, loaded, request, store

pytestmark = [pytest.mark.sqlite_only, NEEDS_CLIENT]
CODE = "201001/000002"
ROWS = ENTERPRISES.select(["统一社会信用代码", "机构名称", "法定代表人"])


def test_a_revoked_grants_table_is_refused_and_its_files_deleted_by_one_cleanup(rt, world, live_server,
                                                                                 token_for, tmp_path):
    with rt.transaction() as s:
        store(s, rt.settings, find_resource(s, CODE), ROWS)
        r = request(s, rt.settings, world, CODE, ["统一社会信用代码", "法定代表人"])
        approve(s, rt.settings, world, r.id, fields=["统一社会信用代码", "法定代表人"],
                row_filter="统一社会信用代码 LIKE '915101%'")
    with rt.transaction() as s:
        grant = s.scalars(select(SharingGrant).where(SharingGrant.request_id == r.id)).one().id
    assert prepare.wait(timeout=60)
    prof = httpx.post(f"{live_server.url}/api/v1/sharing/profile", headers=token_for("c_user"))
    assert prof.status_code == 200
    profile = tmp_path / "shudata.share"
    profile.write_text(prof.text)
    table = f"dept_{world.consumer}.default.r_201001_000002"
    assert sorted(loaded(profile, table)["rows"]) == [["91510100MA6CB8AG5D", "张*"], ["91510100MA6CB8AG6B", "李*"]]
    folder = rt.settings.data_dir / "delivery" / f"g{grant}"
    assert list(folder.glob("*.parquet"))

    with rt.transaction() as s:
        service.revoke_grant(session=s, actor=world.steward, grant_id=grant, data=RevokeCreate(reason="停止协作"))
    after = client_load(profile, table)
    assert after.returncode != 0 and ("403" in after.stderr or "404" in after.stderr)
    assert folder.is_dir()  # refused at once; deleted by the next run
    removed = cleanup.run(rt.transaction, rt.settings, trigger="serve")
    assert folder in removed.folders and removed.files >= 1
    assert not folder.exists()
    again = client_load(profile, table)
    assert again.returncode != 0 and ("403" in again.stderr or "404" in again.stderr)
