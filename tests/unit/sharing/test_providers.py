"""The cross-department masking provider applied to every SQL sandbox query.

Raw data is a department matter: the platform admin has no bypass, so the query service
refuses them another department's table outright (403); the provider stays as a second
line of defence and still masks for any reader outside the provider department."""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.catalog.access import find_resource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor
from shudata.lake.service import latest_version, version_files
from shudata.query.access import access_subquery
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.sharing.providers import cross_department_masking

IDS = ["11010519491231002X", "510104199001011233"]


def _write(rt) -> None:
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, "201001/000001"),
                      batches_or_table=pa.table({"身份证号": IDS, "机构名称": ["a", "b"]}),
                      source_name="a.csv", source_format="csv")


def test_admin_is_refused_other_departments_data_owner_reads_raw(rt, world, client, token_for):
    _write(rt)
    sql = {"sql": 'SELECT 身份证号 FROM "201001/000001" ORDER BY 机构名称'}
    admin = client.post("/api/v1/query", json=sql, headers=token_for("opsadmin"))
    assert admin.status_code == 403, admin.text
    assert not any(i in admin.text for i in IDS)
    owner = client.post("/api/v1/query", json=sql, headers=token_for("p_steward"))
    assert [r[0] for r in owner.json()["rows"]] == IDS
    with rt.transaction() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.actor == "opsadmin")).all()
    assert [(e.action, e.outcome, e.resource_id) for e in denied] == [
        ("lake.version.read", "denied", "201001/000001")]


def test_the_provider_still_masks_for_readers_outside_the_department(rt, world):
    _write(rt)
    provider = cross_department_masking(rt.settings)
    with rt.transaction() as s:
        res = find_resource(s, "201001/000001")
        assert provider(s, world.steward, res) is None and provider(s, Actor.system(), res) is None
        masked = provider(s, world.admin, res)
        assert provider(s, world.user, res) is not None
        v = latest_version(s, res.id)
        assert v is not None and masked is not None and "身份证号" in masked.column_exprs
        source = TableSource(name="t", files=version_files(rt.settings, v))
    sql = access_subquery("t", ("身份证号", "机构名称"), masked).sql("duckdb")
    out = DuckDBEngine().query(f"SELECT * FROM ({sql}) ORDER BY 机构名称", {"t": source}).column(0).to_pylist()
    assert out != IDS and all(m.startswith(i[:6]) and m.endswith(i[-4:]) for m, i in zip(out, IDS, strict=True))
