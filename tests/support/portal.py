"""Portal fixtures: a provider department with a steward and five entries with data (``portal_world``), and the
same with ``open``, ``people`` and ``cond`` published (``published``).

- ``open``: 无条件开放 regional statistics (no personal data) — publishes as is;
- ``people``: 无条件开放 with names and mobiles — published masked (张*, 138****5678);
- ``cond``: 有条件开放 enterprise list with a legal representative's mobile;
- ``closed``: 不予开放;
- ``planted``: 无条件开放 whose saved open policy keeps a column of real ID numbers — the gate refuses it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from shudata.catalog.models import CatalogResource
from shudata.catalog.search_index import index_entry
from shudata.catalog.service import entry_text
from shudata.core.types import Actor, Role
from shudata.jobs.ingest import ingest_file
from shudata.portal import service as P
from shudata.standards.cn_id import compute_check_char
from support import snapshots

CODES = {"open": "301001/000001", "people": "301001/000002", "cond": "301001/000003",
         "closed": "301001/000004", "planted": "301001/000005"}
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周婷", "吴强"]


@dataclass
class PortalWorld:
    provider: int
    steward: Actor
    other_steward: Actor
    admin: Actor
    files: dict[str, Path]


def _items(names: list[str]) -> list[dict[str, object]]:
    return [{"name": n, "data_type": "C", "length": 100, "description": None} for n in names]


def _resource(key: str, name: str, dept: int, open_type: str, items: list[str], theme: str) -> CatalogResource:
    return CatalogResource(code=CODES[key], name=name, classification="主题", abstract=f"{name}（测试数据）",
                           category_path=f"{theme}/测试", provider_department_id=dept, format_category="电子表格",
                           format_type="csv", information_items=_items(items), sharing_type=1,
                           sharing_method="接口", open_type=open_type, update_cycle="每年",
                           tags=["测试", theme])


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def make_id(region: str, birth: str, seq: int) -> str:
    first = f"{region}{birth}{seq % 1000:03d}"
    return first + compute_check_char(first)


def portal_files(tmp: Path) -> dict[str, Path]:
    regions = ["成都市", "自贡市", "攀枝花市", "泸州市", "德阳市", "绵阳市", "广元市", "遂宁市", "内江市", "乐山市"]
    return {
        "open": _write(tmp / "统计.csv", ["地区", "年份", "常住人口万人", "备注"],
                       [[r, 2023, 100 + i * 7, "=1+1" if i == 0 else "正常"] for i, r in enumerate(regions)]),
        "people": _write(tmp / "人员.csv", ["姓名", "手机号码", "所在市"],
                         [[n, f"1380000{1000 + i:04d}", regions[i]] for i, n in enumerate(NAMES)]),
        "cond": _write(tmp / "企业.csv", ["企业名称", "法定代表人", "联系电话"],
                       [[f"四川测试{i}有限公司", NAMES[i], f"1390000{2000 + i:04d}"] for i in range(10)]),
        "closed": _write(tmp / "涉密.csv", ["名称", "内容"], [[f"条目{i}", "内部"] for i in range(10)]),
        "planted": _write(tmp / "植入.csv", ["序号", "编号"],
                          [[i, make_id("510104", f"1990010{i % 9 + 1}", i)] for i in range(20)]),
    }


def build_portal_world(rt, make_department, make_user, tmp_path: Path) -> PortalWorld:
    """The provider, its steward, another department's steward, an admin and the five entries with their data
    (source files written in ``tmp_path``)."""
    settings = rt.settings
    provider = make_department("省统计局")
    other = make_department("省民政厅")
    w = PortalWorld(provider=provider, steward=make_user("stat_steward", Role.DATA_STEWARD, department_id=provider),
                    other_steward=make_user("mz_steward", Role.DATA_STEWARD, department_id=other),
                    admin=make_user("portal_admin", Role.PLATFORM_ADMIN), files=portal_files(tmp_path))
    with rt.transaction() as s:
        s.add_all([
            _resource("open", "四川省各市常住人口", provider, "无条件开放", ["地区", "年份", "常住人口万人", "备注"],
                      "人口"),
            _resource("people", "志愿者名录", provider, "无条件开放", ["姓名", "手机号码", "所在市"], "社会"),
            _resource("cond", "企业联系名录", provider, "有条件开放", ["企业名称", "法定代表人", "联系电话"], "法人"),
            _resource("closed", "内部名录", provider, "不予开放", ["名称", "内容"], "其他"),
            _resource("planted", "编号清单", provider, "无条件开放", ["序号", "编号"], "其他"),
        ])
        s.flush()
        for res in s.query(CatalogResource).filter(CatalogResource.code.in_(CODES.values())):
            index_entry(s, entry_text(res))
    with rt.transaction() as s:
        for key, path in w.files.items():
            ingest_file(session=s, settings=settings, actor=w.steward, resource_code=CODES[key], path=path)
    return w


@pytest.fixture
def portal_world(rt, settings, make_department, make_user, tmp_path, request) -> PortalWorld:
    """:func:`build_portal_world`, built once per session and backend and copied into the test's store (the
    source files are written in the test's ``tmp_path``)."""
    return (snapshots.restored(request, "portal_world")
            or build_portal_world(rt, make_department, make_user, tmp_path))


snapshots.register("portal_world", portal_world, build_portal_world,
                   restore=lambda w, tmp_path: replace(w, files=portal_files(tmp_path)), uses_settings=True)


PUBLISHED = ("open", "people", "cond")


def publish(rt, settings, steward: Actor, *keys: str) -> None:
    """Publish the entries ``keys`` as ``steward``, in one transaction."""
    with rt.transaction() as s:
        for key in keys:
            P.publish(session=s, settings=settings, actor=steward, resource=CODES[key])


def build_published(rt, make_department, make_user, tmp_path: Path) -> PortalWorld:
    """:func:`build_portal_world`, then ``open``, ``people`` and ``cond`` published."""
    w = build_portal_world(rt, make_department, make_user, tmp_path)
    publish(rt, rt.settings, w.steward, *PUBLISHED)
    return w


@pytest.fixture
def published(rt, settings, portal_world, request) -> PortalWorld:
    """The portal world with open + people (无条件开放) and cond (有条件开放) published; closed and planted never
    (built once per session and backend and copied, as ``portal_world``)."""
    if snapshots.restored(request, "published") is None:
        publish(rt, settings, portal_world.steward, *PUBLISHED)
    return portal_world


snapshots.register("published", published, build_published,
                   restore=lambda w, tmp_path: replace(w, files=portal_files(tmp_path)), uses_settings=True,
                   includes=("portal_world",))
