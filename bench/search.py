"""Catalog search latency: p95 of ``catalog.search.search`` over 100,000 generated entries on SQLite.

Entries are generated with Faker ``zh_CN`` (seeded): Sichuan provincial and city departments,
resource names built from real government data topics, abstracts and information items.
They are loaded with the bulk index path, then a realistic query mix runs (topics, region +
topic, provider names, resource codes, information items, very common words, two topics).
The baseline, in the same run, is a naive ``LIKE '%q%'`` scan over names and abstracts.

    .venv/bin/python bench/search.py            # 100,000 entries
    .venv/bin/python bench/search.py --quick    # 5,000 entries, fewer queries

Prints one JSON line per figure; the last is ``search.p95_ms`` (target ≤ 50 ms).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from faker import Faker
from sqlalchemy import insert, or_, select

from shudata.catalog.models import CatalogResource
from shudata.catalog.search import search
from shudata.catalog.search_index import EntryText, bulk_index, rebuild_stats
from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.security.models import Department
from shudata.standards.uscc import complete

CITIES = ["成都市", "自贡市", "攀枝花市", "泸州市", "德阳市", "绵阳市", "广元市", "遂宁市", "内江市", "乐山市",
          "南充市", "眉山市", "宜宾市", "广安市", "达州市", "雅安市", "巴中市", "资阳市", "阿坝州", "甘孜州", "凉山州"]
BUREAUS = ["发展和改革委员会", "统计局", "市场监督管理局", "生态环境局", "交通运输局", "文化广电旅游局", "公安局",
           "民政局", "人力资源和社会保障局", "自然资源和规划局", "住房和城乡建设局", "卫生健康委员会", "教育局",
           "农业农村局", "水务局", "应急管理局", "税务局", "医疗保障局", "司法局", "商务局", "经济和信息化局",
           "财政局", "审计局", "林业和草原局", "大数据中心"]
TOPICS = ["企业信用", "户籍人口", "常住人口", "流动人口", "出生登记", "死亡登记", "婚姻登记", "道路运输许可",
          "营运车辆", "驾驶员培训", "空气质量", "水质监测", "噪声监测", "污染源", "排污许可", "环境处罚",
          "医疗机构", "执业医师", "药品零售", "疫苗接种", "学校基本", "学籍", "教师资格", "社保参保", "养老保险",
          "失业保险", "工伤保险", "最低生活保障", "特困供养", "残疾人", "不动产登记", "土地出让", "矿产资源",
          "林地资源", "耕地保护", "地质灾害", "建筑企业资质", "建设工程许可", "房屋租赁", "保障性住房",
          "旅游景区", "星级饭店", "文物保护单位", "公共图书馆", "农业补贴", "农民专业合作社", "动物防疫",
          "水利工程", "河长制", "安全生产许可", "危险化学品", "应急救援队伍", "纳税信用", "发票", "医保定点",
          "法律援助", "律师执业", "外商投资", "进出口", "工业企业", "规模以上工业", "固定资产投资",
          "财政预算", "政府采购", "审计整改", "公共资源交易", "行政许可", "行政处罚", "双随机抽查",
          "食品生产许可", "特种设备", "计量器具", "产品质量抽检", "商标", "专利", "科技型中小企业",
          "高新技术企业", "电力消费", "天然气供应", "公交线路", "出租车", "高速公路通行", "气象观测",
          "地震监测", "人口普查", "经济普查", "农业普查", "扶贫对象", "易地扶贫搬迁", "退役军人", "志愿者"]
SUFFIXES = ["信息", "数据", "名录", "登记信息", "统计数据", "台账", "清单", "基本信息", "情况", "目录"]
ITEMS = ["统一社会信用代码", "企业名称", "法定代表人", "成立日期", "注册资本", "登记机关", "经营范围", "住所",
         "公民身份号码", "姓名", "性别", "民族", "出生日期", "户籍地址", "行政区划代码", "联系电话", "经度", "纬度",
         "面积", "许可证编号", "有效期起", "有效期止", "处罚决定书文号", "处罚内容", "处罚日期", "监测点位",
         "监测时间", "PM2.5浓度", "学校名称", "在校学生数", "床位数", "车牌号码", "线路名称", "金额", "年度"]
CYCLES = ["实时", "每日", "每周", "每月", "每季度", "每年"]
FORMATS = ["数据库", "电子表格", "电子文件", "图形图像"]


def departments() -> list[str]:
    province = [f"四川省{b}" for b in BUREAUS]
    return province + [f"{c}{b}" for c in CITIES for b in BUREAUS]


def generate(n: int, seed: int = 2018) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Department rows and entry rows (plain dicts for bulk insert)."""
    fake = Faker("zh_CN")
    Faker.seed(seed)
    rnd = random.Random(seed)
    depts = [{"id": i + 1, "name": name, "uscc": complete(f"115100{i + 1:011d}"), "region_code": "510000"}
             for i, name in enumerate(departments())]
    entries = []
    for rid in range(1, n + 1):
        dept = rnd.choice(depts)
        region = dept["name"][:3] if not dept["name"].startswith("四川省") else "四川省"
        topic = rnd.choice(TOPICS)
        year = f"{rnd.randint(2015, 2024)}年" if rnd.random() < 0.2 else ""
        name = f"{region}{year}{topic}{rnd.choice(SUFFIXES)}"
        prefix = f"{rnd.randint(1, 3)}{rnd.randint(1, 20):02d}{rnd.randint(1, 30):03d}"
        items = [{"name": it, "data_type": "C"} for it in rnd.sample(ITEMS, rnd.randint(4, 9))]
        entries.append({
            "id": rid, "code": f"{prefix}/{rid:06d}", "name": name,
            "classification": rnd.choice(["基础", "主题", "部门"]),
            "abstract": f"本资源记录{name}，由{dept['name']}负责采集和维护。{fake.sentence(nb_words=8)}",
            "provider_department_id": dept["id"], "provider": dept["name"],
            "format_category": rnd.choice(FORMATS), "format_type": "csv", "information_items": items,
            "sharing_type": rnd.choice([1, 1, 2]), "sharing_condition": "仅用于政务服务", "sharing_method": "接口",
            "open_type": "不予开放", "update_cycle": rnd.choice(CYCLES), "related_codes": [], "tags": [],
            "revision": 1, "is_deleted": False,
        })
    return depts, entries


def load(rt: Runtime, depts: list[dict[str, Any]], entries: list[dict[str, Any]]) -> float:
    t0 = time.perf_counter()
    res = CatalogResource.__table__
    with rt.transaction() as s:
        s.execute(insert(Department), depts)
        cols = {c.key for c in res.columns}
        for i in range(0, len(entries), 5000):
            s.connection().execute(res.insert(), [{k: v for k, v in e.items() if k in cols}
                                                  for e in entries[i:i + 5000]])
        bulk_index(s, (EntryText.of(e["id"], name=e["name"], code=e["code"], provider=e["provider"],
                                    abstract=e["abstract"], items=e["information_items"], tags=[])
                       for e in entries))
        rebuild_stats(s)
    return time.perf_counter() - t0


def query_mix(entries: list[dict[str, Any]], count: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    kinds = [
        (40, lambda: rnd.choice(TOPICS)),
        (15, lambda: f"{rnd.choice(CITIES)} {rnd.choice(TOPICS)}"),
        (10, lambda: rnd.choice(departments())),
        (10, lambda: rnd.choice(entries)["code"]),
        (10, lambda: rnd.choice(ITEMS)),
        (10, lambda: rnd.choice(["四川 信息", "数据", "信息", "四川省 数据 信息", "基本信息"])),
        (5, lambda: f"{rnd.choice(TOPICS)} {rnd.choice(TOPICS)}"),
    ]
    weights = [w for w, _ in kinds]
    return [rnd.choices(kinds, weights)[0][1]() for _ in range(count)]


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[94]


def timed(fn: Any, queries: list[str], cpu: list[float] | None = None) -> list[float]:
    """Wall-clock milliseconds per query (and CPU milliseconds into ``cpu``)."""
    out = []
    for q in queries:
        c0, t0 = time.process_time(), time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - c0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="5,000 entries and 100 queries (< 1 minute)")
    ap.add_argument("--entries", type=int, default=None)
    args = ap.parse_args()
    n = args.entries or (5_000 if args.quick else 100_000)
    nq = 100 if args.quick else 400
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime.build(Settings(env="test", data_dir=Path(tmp)))
        rt.migrate()
        depts, entries = generate(n)
        load_s = load(rt, depts, entries)
        queries = query_mix(entries, nq)
        actor = Actor.system()
        res = CatalogResource.__table__
        with rt.sessions() as s:
            timed(lambda q: search(session=s, actor=actor, q=q), queries[:10])  # warm caches and jieba
            cpu: list[float] = []
            ours = timed(lambda q: search(session=s, actor=actor, q=q), queries, cpu)
            hits = sum(1 for q in queries[:50] if search(session=s, actor=actor, q=q, limit=1).total)

            def like(q: str) -> None:
                """Naive search: every word in the name or abstract, all matches (for totals)."""
                conds = [or_(res.c.name.like(f"%{w}%"), res.c.abstract.like(f"%{w}%")) for w in q.split()]
                s.connection().execute(select(res.c.id).where(*conds).order_by(res.c.id)).all()

            base = timed(like, queries)
        rt.close()
    figures = [
        {"figure": "search.load_s", "value": round(load_s, 1), "target": None, "unit": "s"},
        {"figure": "search.queries_with_hits", "value": hits, "target": 50, "unit": "of 50"},
        {"figure": "search.baseline_like_p95_ms", "value": round(p95(base), 2), "target": None, "unit": "ms"},
        {"figure": "search.median_ms", "value": round(statistics.median(ours), 2), "target": None, "unit": "ms"},
        {"figure": "search.p95_cpu_ms", "value": round(p95(cpu), 2), "target": None, "unit": "ms",
         "note": "CPU time per query: the wall-clock figure on a shared machine includes waiting for a core"},
        {"figure": "search.p95_ms", "value": round(p95(ours), 2), "target": 50, "unit": "ms",
         "entries": n, "queries": nq, "baseline_like_p95_ms": round(p95(base), 2)},
    ]
    for f in figures:
        print(json.dumps(f, ensure_ascii=False))


if __name__ == "__main__":
    main()
