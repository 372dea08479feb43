"""A larger department entry for the market page and browser tests: enough rows that a 5 % subset
of a buyer's fingerprinted file still carries the buyer's code word."""

from __future__ import annotations

from tests.support.market import CITIES, DepartmentSeller

from shudata.core.types import Actor
from shudata.db.runtime import Runtime

POWER_CODE = "301001/000003"
POWER_ITEMS = [{"name": n, "data_type": t, "length": 50, "description": None}
               for n, t in (("企业编号", "C"), ("城市", "C"), ("月份", "N"), ("用电量", "N"), ("产值", "N"))]


def power_entry(rt: Runtime, ds: DepartmentSeller, rows: int = 6000) -> str:
    """企业月度用电量 of ``ds``'s department (``rows`` rows, no personal data); its code."""
    import pyarrow as pa

    from shudata.catalog.access import find_resource
    from shudata.catalog.models import CatalogResource
    from shudata.catalog.writes import write_version

    with rt.transaction() as s:
        s.add(CatalogResource(code=POWER_CODE, name="企业月度用电量", classification="主题", abstract="企业月度用电量",
                              provider_department_id=ds.department_id, format_category="数据库", format_type="csv",
                              information_items=POWER_ITEMS, sharing_type=1, sharing_method="接口",
                              open_type="不予开放", update_cycle="每月"))
    table = pa.table({"企业编号": [f"E{i // 12:06d}" for i in range(rows)],
                      "城市": [CITIES[(i // 12) % len(CITIES)] for i in range(rows)],
                      "月份": [1 + i % 12 for i in range(rows)],
                      "用电量": [round(1000 + (i * 7919) % 5000 + 0.37 * (i % 13), 2) for i in range(rows)],
                      "产值": [round(50000 + (i * 104729) % 90000 + 0.11 * (i % 7), 2) for i in range(rows)]})
    with rt.transaction() as s:
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, POWER_CODE),
                      batches_or_table=table, source_name="power.csv", source_format="csv")
    return POWER_CODE
