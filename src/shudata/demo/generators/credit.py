"""四川省企业信用信息: 行政许可 and 行政处罚 records keyed by unified social credit code.

Records are derived from an entity table (see :mod:`shudata.demo.generators.entities`),
so every record's code and name match a registered entity. The columns are the items of
the 社会信用 base-registry template plus 罚款金额 (万元, for penalties).

>>> from shudata.demo.generators.entities import generate_entities
>>> t = generate_credit_records(generate_entities(20, seed=1), seed=1)
>>> sorted(set(t.column("信用类型").to_pylist())) <= ["行政许可", "行政处罚"]
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random

import pyarrow as pa

from shudata.demo.generators.common import REFERENCE_DATE, random_date, registrar
from shudata.standards.uscc import ALPHABET, complete, org_code_check_char

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

CREDIT_SCHEMA = pa.schema([  # the items of the 社会信用 base-registry template, plus 罚款金额
    ("统一社会信用代码", pa.string()),
    ("主体名称", pa.string()),
    ("信用类型", pa.string()),
    ("决定文书号", pa.string()),
    ("内容", pa.string()),
    ("决定日期", pa.date32()),
    ("有效期至", pa.date32()),
    ("决定机关", pa.string()),
    ("决定机关统一社会信用代码", pa.string()),
    ("数据来源", pa.string()),
    ("罚款金额", pa.float64()),
])


def office_uscc(county_code: str, office: str) -> str:
    """A stable, valid credit code for a county-level government office (机关: ``11``).

    >>> from shudata.standards.uscc import is_valid_uscc
    >>> code = office_uscc("510104", "市场监督管理局")
    >>> is_valid_uscc(code, strict_org_code=True), code[:8], code == office_uscc("510104", "市场监督管理局")
    (True, '11510104', True)
    """
    digest = hashlib.sha256(f"{county_code}{office}".encode()).digest()
    body = "".join(ALPHABET[b % 10] for b in digest[:8])
    return complete(f"11{county_code}{body}{org_code_check_char(body)}")


def _licence(rng: random.Random, region: str, decided: dt.date, seq: int) -> tuple[object, ...]:
    item, office = rng.choice(LICENCES)
    years = rng.choice((3, 5))
    return ("行政许可", f"川{region[:4]}许〔{decided.year}〕{seq:05d}号", f"{item}（有效期 {years} 年）", decided,
            decided + dt.timedelta(days=365 * years), office, None)


def _penalty(rng: random.Random, region: str, decided: dt.date, seq: int) -> tuple[object, ...]:
    item, office, top = rng.choice(PENALTIES)
    fine = round(rng.uniform(0.1, top), 2)
    return ("行政处罚", f"川{region[:4]}罚〔{decided.year}〕{seq:05d}号", f"{item}；罚款 {fine} 万元", decided, None,
            office, fine)


def generate_credit_records(entities: pa.Table, *, seed: int = 2020) -> pa.Table:
    """0–3 records per entity (行政许可 about 70 %), each dated after the entity was founded."""
    rng = random.Random(seed)
    cols: dict[str, list[object]] = {f.name: [] for f in CREDIT_SCHEMA}
    seq = 0
    for ent in entities.to_pylist():
        county = ent["行政区划代码"]
        for _ in range(rng.choices((0, 1, 2, 3), (35, 35, 20, 10))[0]):
            seq += 1
            decided = random_date(rng, ent["成立日期"], REFERENCE_DATE - dt.timedelta(days=1))
            kind = _licence if rng.random() < 0.7 else _penalty
            label, doc, content, day, until, office, fine = kind(rng, county, decided, seq)
            row = (ent["统一社会信用代码"], ent["机构名称"], label, doc, content, day, until,
                   registrar(county, str(office)), office_uscc(county, str(office)), "信用中国（四川）", fine)
            for col, value in zip(cols, row, strict=True):
                cols[col].append(value)
    return pa.table(cols, schema=CREDIT_SCHEMA)
