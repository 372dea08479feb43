"""The cross-department masking provider applied to every SQL sandbox query."""

from __future__ import annotations

import pyarrow as pa

from shudata.catalog.access import find_resource
from shudata.core.types import Actor
from shudata.lake.service import write_version

IDS = ["11010519491231002X", "510104199001011233"]


def test_admin_reads_other_departments_data_masked_owner_reads_raw(rt, world, client, token_for):
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, "201001/000001"),
                      batches_or_table=pa.table({"身份证号": IDS, "机构名称": ["a", "b"]}),
                      source_name="a.csv", source_format="csv")
    sql = {"sql": 'SELECT 身份证号 FROM "201001/000001" ORDER BY 机构名称'}
    admin = client.post("/api/v1/query", json=sql, headers=token_for("root"))
    assert admin.status_code == 200, admin.text
    masked = [r[0] for r in admin.json()["rows"]]
    assert masked != IDS and all(m.startswith(i[:6]) and m.endswith(i[-4:]) for m, i in zip(masked, IDS, strict=True))
    owner = client.post("/api/v1/query", json=sql, headers=token_for("p_steward"))
    assert [r[0] for r in owner.json()["rows"]] == IDS
