"""四川省企业信用信息: 行政许可 and 行政处罚 records keyed by unified social credit code.

Records are derived from an entity table (see :mod:`shudata.demo.generators.entities`),
so every record's code, name and legal representative match a registered entity.

>>> from shudata.demo.generators.entities import generate_entities
>>> t = generate_credit_records(generate_entities(20, seed=1), seed=1)
>>> sorted(set(t.column("信用类别").to_pylist())) <= ["行政许可", "行政处罚"]
True
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa

from shudata.demo.generators.common import REFERENCE_DATE, random_date, registrar

LICENCES = (  # (事项, 决定机关 suffix)
    ("食品经营许可", "市场监督管理局"),
    ("道路运输经营许可", "交通运输局"),
    ("排污许可", "生态环境局"),
    ("建筑工程施工许可", "住房和城乡建设局"),
    ("药品经营许可", "市场监督管理局"),
    ("旅行社业务经营许可", "文化广播电视和旅游局"),
    ("烟草专卖零售许可", "烟草专卖局"),
)
PENALTIES = (  # (违法行为, 决定机关 suffix, max fine 万元)
    ("未按规定公示年度报告", "市场监督管理局", 1.0),
    ("销售不符合食品安全标准的食品", "市场监督管理局", 10.0),
    ("超标排放大气污染物", "生态环境局", 50.0),
    ("道路运输车辆超限超载", "交通运输局", 3.0),
    ("虚假宣传", "市场监督管理局", 20.0),
    ("未取得许可从事经营活动", "市场监督管理局", 5.0),
)

CREDIT_SCHEMA = pa.schema([
    ("记录编号", pa.string()),
    ("统一社会信用代码", pa.string()),
    ("信用主体名称", pa.string()),
    ("法定代表人", pa.string()),
    ("信用类别", pa.string()),
    ("决定文书号", pa.string()),
    ("事项名称", pa.string()),
    ("罚款金额", pa.float64()),
    ("决定日期", pa.date32()),
    ("有效期至", pa.date32()),
    ("决定机关", pa.string()),
    ("数据来源", pa.string()),
])


def _licence(rng: random.Random, region: str, decided: dt.date, seq: int) -> tuple[object, ...]:
    item, office = rng.choice(LICENCES)
    return ("行政许可", f"川{region[:4]}许〔{decided.year}〕{seq:05d}号", item, None, decided,
            decided + dt.timedelta(days=365 * rng.choice((3, 5))), office)


def _penalty(rng: random.Random, region: str, decided: dt.date, seq: int) -> tuple[object, ...]:
    item, office, top = rng.choice(PENALTIES)
    fine = round(rng.uniform(0.1, top), 2)
    return ("行政处罚", f"川{region[:4]}罚〔{decided.year}〕{seq:05d}号", item, fine, decided, None, office)


def generate_credit_records(entities: pa.Table, *, seed: int = 2020, per_entity: float = 1.2) -> pa.Table:
    """About ``per_entity`` records per entity (some have none, a few have several)."""
    rng = random.Random(seed)
    cols: dict[str, list[object]] = {f.name: [] for f in CREDIT_SCHEMA}
    seq = 0
    for ent in entities.to_pylist():
        founded = ent["成立日期"]
        for _ in range(rng.choices((0, 1, 2, 3), (35, 35, 20, 10))[0] if per_entity else 0):
            seq += 1
            decided = random_date(rng, founded, REFERENCE_DATE - dt.timedelta(days=1))
            kind = _licence if rng.random() < 0.7 else _penalty
            label, doc, item, fine, day, until, office = kind(rng, ent["所属行政区划代码"], decided, seq)
            office_name = registrar(ent["所属行政区划代码"], str(office))
            row = (f"XY{seq:07d}", ent["统一社会信用代码"], ent["企业名称"], ent["法定代表人"], label, doc,
                   item, fine, day, until, office_name, "信用中国（四川）")
            for col, value in zip(cols, row, strict=True):
                cols[col].append(value)
    return pa.table(cols, schema=CREDIT_SCHEMA)
