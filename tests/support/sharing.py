"""Sharing fixtures (imported by the sharing conftests): two departments, stewards, a user, three resources;
and the pieces the sharing and market delivery tests build on them — catalog entries, their data versions,
a consumer's request and the provider's decision, a masked population table."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.catalog.writes import write_version
from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from support import snapshots


def items(*names: str) -> list[dict[str, Any]]:
    """Catalog information items (character columns) named ``names``."""
    return [{"name": n, "data_type": "C", "length": 50, "description": None} for n in names]


ITEMS = items("统一社会信用代码", "机构名称", "法定代表人", "注册资本", "联系电话")
# Rows of the world's enterprise entries: two in 成都 (915101…), one in 绵阳.
ENTERPRISES = pa.table({"统一社会信用代码": ["91510100MA6CB8AG5D", "91510100MA6CB8AG6B", "91510700MA6CB8AG7X"],
                        "机构名称": ["成都甲公司", "成都乙公司", "绵阳丙公司"],
                        "法定代表人": ["张三", "李四", "王五"],
                        "注册资本": ["100", "2000", "50"],
                        "联系电话": ["13812345678", "13912345678", "13712345678"]})


@dataclass
class World:
    provider: int
    consumer: int
    steward: Actor
    other_steward: Actor
    user: Actor
    admin: Actor


def entry(code: str, name: str, dept: int, info: list[dict[str, Any]], *, sharing_type: int = 1,
          condition: str | None = None, classification: str = "基础", update_cycle: str = "每月") -> CatalogResource:
    """A catalog entry of ``dept`` (not open, shared by interface) with the information items ``info``."""
    return CatalogResource(code=code, name=name, classification=classification, abstract=name,
                           provider_department_id=dept, format_category="数据库", format_type="csv",
                           information_items=info, sharing_type=sharing_type, sharing_condition=condition,
                           sharing_method="接口", open_type="不予开放", update_cycle=update_cycle)


def store(s: Session, settings: Settings, resource: CatalogResource, *tables: pa.Table,
          source_name: str = "企业.csv") -> None:
    """Each of ``tables`` as the entry's next data version (written by the system)."""
    for table in tables:
        write_version(session=s, settings=settings, actor=Actor.system(), resource=resource, batches_or_table=table,
                      source_name=source_name, source_format="csv")


def request(s: Session, settings: Settings, world: World, code: str, fields: list[str], *,
            basis: str = "《税收征收管理法》") -> Any:
    """The consumer user's request for ``fields`` of ``code`` (业务协同), for the next 30 days."""
    from shudata.sharing import service
    from shudata.sharing.schemas import RequestCreate

    today = dt.date.today()
    return service.request_access(session=s, actor=world.user, settings=settings, data=RequestCreate(
        resource=code, fields=fields, purpose="业务协同", basis=basis, use_from=today,
        use_until=today + dt.timedelta(days=30)))


def approve(s: Session, settings: Settings, world: World, request_id: int, *, fields: list[str] | None = None,
            row_filter: str | None = None, reason: str = "仅成都企业", masking_profile: str | None = None) -> None:
    """The provider steward grants the request in part: ``fields`` (all requested: None) and ``row_filter``."""
    from shudata.sharing import service
    from shudata.sharing.schemas import DecisionCreate

    service.decide(session=s, actor=world.steward, settings=settings, request_id=request_id, data=DecisionCreate(
        decision="approve_partial", reason=reason, fields=fields, row_filter=row_filter,
        masking_profile=masking_profile))


def build_world(rt, make_department, make_user, _tmp: Path | None = None) -> World:
    """Two departments, their stewards, a consumer user, a platform admin and three entries of the provider."""
    provider = make_department("省市场监管局")
    consumer = make_department("省税务局")
    w = World(provider=provider, consumer=consumer,
              steward=make_user("p_steward", Role.DATA_STEWARD, department_id=provider),
              other_steward=make_user("c_steward", Role.DATA_STEWARD, department_id=consumer),
              user=make_user("c_user", Role.DEPT_USER, department_id=consumer),
              admin=make_user("opsadmin", Role.PLATFORM_ADMIN))
    with rt.transaction() as s:
        s.add_all([
            entry("201001/000001", "四川省企业信用信息", provider, ITEMS),
            entry("201001/000002", "企业登记详细信息", provider, ITEMS, sharing_type=2, condition="仅限税收征管使用"),
            entry("201001/000003", "涉密企业名录", provider, ITEMS, sharing_type=3,
                  condition="《中华人民共和国保守国家秘密法》"),
        ])
    return w


@pytest.fixture
def world(rt, make_department, make_user, request) -> World:
    """:func:`build_world`, built once per session and backend and copied into the test's store."""
    return snapshots.restored(request, "world") or build_world(rt, make_department, make_user)


snapshots.register("world", world, build_world)


# -- a population table whose identifying columns a masking policy hides (the oracle tests) ---------------

PEOPLE_FIELDS = ["公民身份号码", "姓名", "联系电话", "行政区划"]
MASKS = {"公民身份号码": {"op": "partial_mask", "keep_head": 6, "keep_tail": 4},
         "姓名": {"op": "partial_mask", "keep_head": 1},
         "联系电话": {"op": "partial_mask", "keep_head": 3, "keep_tail": 4}}
PEOPLE = {"公民身份号码": ["513221199001016433", "510104198503120021", "510105197711230418", "510106200102028826"],
          "姓名": ["张三", "李四", "王五", "赵六"],
          "联系电话": ["13812345678", "13912345678", "13712345678", "13612345678"],
          "行政区划": ["510104", "510104", "510105", "510106"]}
ONE_MORE = pa.table({"公民身份号码": ["510107199912129999"], "姓名": ["钱七"], "联系电话": ["13512345678"],
                     "行政区划": ["510107"]})


@st.composite
def same_mask(draw: Any) -> tuple[str, str, str]:
    """A column and two raw values for row 0 that :data:`MASKS` delivers identically."""
    column = draw(st.sampled_from(["公民身份号码", "姓名", "联系电话"]))
    if column == "公民身份号码":
        middle = st.text("0123456789", min_size=8, max_size=8)
        a, b = draw(middle), draw(middle)
        return column, f"513221{a}6433", f"513221{b}6433"
    if column == "姓名":
        given_name = st.sampled_from(["三", "伟", "敏", "静", "丽", "强", "磊", "军", "洋", "勇"])
        return column, "张" + draw(given_name), "张" + draw(given_name)
    digits = st.text("0123456789", min_size=4, max_size=4)
    return column, f"138{draw(digits)}5678", f"138{draw(digits)}5678"


def people(changes: dict[str, str] | None = None, base: dict[str, list[str]] = PEOPLE) -> pa.Table:
    """``base`` with the first row's values of ``changes`` changed."""
    cols = {k: list(v) for k, v in base.items()}
    for col, value in (changes or {}).items():
        cols[col][0] = value
    return pa.table(cols)


def masked_people(s: Session, settings: Settings, code: str, dept: int, table: pa.Table, *, profile: str,
                  condition: str, name: str = "人口基础信息") -> CatalogResource:
    """A conditionally shared entry of ``dept`` holding ``table`` as version 1 and ``table`` plus one row as
    version 2, with its saved ``profile`` masking policy (:data:`MASKS`)."""
    from shudata.privacy.models import PrivacyPolicy
    from shudata.sharing.masking import policy_name

    res = entry(code, name, dept, items(*PEOPLE_FIELDS), sharing_type=2, condition=condition)
    s.add(res)
    s.flush()
    s.add(PrivacyPolicy(name=policy_name(res, profile), profile=profile, created_by="test",
                        body={"name": policy_name(res, profile), "profile": profile, "columns": MASKS}))
    store(s, settings, res, table, pa.concat_tables([table, ONE_MORE]), source_name="人口.csv")
    return res


# -- the official delta-sharing client (its own virtualenv: `make clients`), run in a subprocess -------------

CLIENT = Path(__file__).resolve().parents[1] / ".venv-delta-sharing" / "bin" / "python"
NEEDS_CLIENT = pytest.mark.skipif(not CLIENT.exists(), reason="run `make clients` to install the delta-sharing client")

# The client's native libraries sometimes abort while the interpreter tears down after the load
# ("terminate called without an active exception", exit -6, seen once in CI with the output
# already printed): the script flushes its answer and leaves without the teardown. Errors
# during the load still raise and exit non-zero.
LOAD = """
import json, os, sys, delta_sharing
profile, table, limit, version = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
client = delta_sharing.SharingClient(profile)
tables = [f"{t.share}.{t.schema}.{t.name}" for t in client.list_all_tables()]
kw = {}
if limit != "-":
    kw["limit"] = int(limit)
if version != "-":
    kw["version"] = int(version)
df = delta_sharing.load_as_pandas(f"{profile}#{table}", **kw)
print(json.dumps({"tables": tables, "columns": list(df.columns), "rows": df.astype(str).values.tolist()},
                 ensure_ascii=False))
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
"""


def client_load(profile: Path, table: str, *, limit: int | None = None,
                version: int | None = None) -> subprocess.CompletedProcess[str]:
    """The client lists the profile's tables and loads ``table`` (with a limit hint, at a version)."""
    return subprocess.run([str(CLIENT), "-c", LOAD, str(profile), table, str(limit or "-"),
                           "-" if version is None else str(version)],
                          capture_output=True, text=True, timeout=180, check=False)


def loaded(profile: Path, table: str, **kw: Any) -> dict[str, Any]:
    """What the client saw: ``tables`` listed, ``columns`` and ``rows`` (as text) of ``table``."""
    done = client_load(profile, table, **kw)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
