"""法人单位基础信息: seeded legal entities with valid unified social credit codes (GB 32100).

Codes are issued by the market regulator (登记管理部门 9), carry the county code of the
registered address and an organisation code (GB 11714) with its own check character.

>>> t = generate_entities(2, seed=1)
>>> t.column_names[:3]
['统一社会信用代码', '企业名称', '法定代表人']
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
from faker import Faker

from shudata.demo.generators.common import REFERENCE_DATE, address, random_date, real_counties, registrar, seeded
from shudata.standards.regions import all_regions
from shudata.standards.uscc import ALPHABET, complete, org_code_check_char

ENTITY_TYPES = (  # (USCC type digit, 企业类型, name suffix, capital range 万元)
    ("1", "有限责任公司", "有限公司", (10, 5000)),
    ("1", "股份有限公司", "股份有限公司", (1000, 50000)),
    ("2", "个体工商户", "经营部", (1, 50)),
    ("3", "农民专业合作社", "专业合作社", (5, 200)),
)
ENTITY_WEIGHTS = (70, 8, 17, 5)
INDUSTRIES = ("科技", "信息技术", "建筑工程", "农业开发", "商贸", "餐饮管理", "物流", "文化传媒",
              "旅游开发", "医药", "新能源", "食品", "酒业", "茶业", "环保科技", "教育咨询")
STATUSES = ("存续", "存续", "存续", "存续", "存续", "在业", "迁出", "注销", "吊销")

ENTITY_SCHEMA = pa.schema([
    ("统一社会信用代码", pa.string()),
    ("企业名称", pa.string()),
    ("法定代表人", pa.string()),
    ("企业类型", pa.string()),
    ("注册资本", pa.float64()),
    ("成立日期", pa.date32()),
    ("登记机关", pa.string()),
    ("住所", pa.string()),
    ("所属行政区划代码", pa.string()),
    ("登记状态", pa.string()),
])


def credit_code(rng: random.Random, type_digit: str, region_code: str) -> str:
    """A valid 18-character code: 9 + type + region + MA… org code + check character.

    >>> from shudata.standards.uscc import is_valid_uscc
    >>> is_valid_uscc(credit_code(random.Random(0), "1", "510104"), strict_org_code=True)
    True
    """
    body = "MA" + "".join(rng.choice(ALPHABET) for _ in range(6))
    return complete(f"9{type_digit}{region_code}{body}{org_code_check_char(body)}")


def _name(fake: Faker, rng: random.Random, region_code: str, suffix: str) -> str:
    city = all_regions()[region_code[:4] + "00"].name
    place = city.removesuffix("市") if len(city) <= 4 else all_regions()[region_code].name
    return f"{place}{fake.company_prefix()}{rng.choice(INDUSTRIES)}{suffix}"


def generate_entities(n: int = 1000, *, seed: int = 2019) -> pa.Table:
    """``n`` legal entities registered in Sichuan counties; same ``seed`` → same table."""
    fake, rng = seeded(seed)
    counties = real_counties()
    cols: dict[str, list[object]] = {f.name: [] for f in ENTITY_SCHEMA}
    codes: set[str] = set()
    names: set[str] = set()
    while len(codes) < n:
        county = rng.choice(counties)
        type_digit, kind, suffix, (low, high) = rng.choices(ENTITY_TYPES, ENTITY_WEIGHTS)[0]
        code, name = credit_code(rng, type_digit, county.code), _name(fake, rng, county.code, suffix)
        if code in codes or name in names:
            continue
        codes.add(code)
        names.add(name)
        founded = random_date(rng, dt.date(2015, 10, 1), REFERENCE_DATE - dt.timedelta(days=30))
        row = (code, name, fake.name(), kind, float(rng.randrange(low, high + 1)), founded,
               registrar(county.code, "市场监督管理局"), address(rng, county.code), county.code,
               rng.choice(STATUSES))
        for col, value in zip(cols, row, strict=True):
            cols[col].append(value)
    return pa.table(cols, schema=ENTITY_SCHEMA)
