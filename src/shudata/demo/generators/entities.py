"""法人单位基础信息: seeded legal entities with valid unified social credit codes (GB 32100).

The columns are the items of the 法人 base-registry template. Codes are issued by the
market regulator (登记管理部门 9), carry the county code of the
registered address and an organisation code (GB 11714) with its own check character.

>>> t = generate_entities(2, seed=1)
>>> t.column_names[:3]
['统一社会信用代码', '机构名称', '机构类型']
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
from faker import Faker

from shudata.demo.generators.common import REFERENCE_DATE, address, random_date, real_counties, registrar, seeded
from shudata.standards.regions import all_regions
from shudata.standards.uscc import ALPHABET, complete, org_code_check_char

ENTITY_TYPES = (  # (USCC type digit, 机构类型, name suffix, capital range 万元)
    ("1", "企业（有限责任公司）", "有限公司", (10, 5000)),
    ("1", "企业（股份有限公司）", "股份有限公司", (1000, 50000)),
    ("2", "个体工商户", "经营部", (1, 50)),
    ("3", "农民专业合作社", "专业合作社", (5, 200)),
)
ENTITY_WEIGHTS = (70, 8, 17, 5)
INDUSTRIES = {  # name word -> 经营范围
    "科技": "技术服务、技术开发、技术咨询；软件开发",
    "信息技术": "信息系统集成服务；数据处理和存储支持服务；软件开发",
    "建筑工程": "房屋建筑和市政基础设施项目工程总承包；建筑材料销售",
    "农业开发": "蔬菜、水果种植；农产品的生产、销售、加工",
    "商贸": "日用百货销售；五金产品零售；食品销售（仅销售预包装食品）",
    "餐饮管理": "餐饮服务；餐饮管理；食品销售",
    "物流": "道路货物运输（不含危险货物）；普通货物仓储服务；国内货物运输代理",
    "文化传媒": "广告设计、代理；组织文化艺术交流活动；会议及展览服务",
    "旅游开发": "旅游业务；游览景区管理；住宿服务",
    "医药": "药品零售；医疗器械销售；保健食品销售",
    "新能源": "太阳能发电技术服务；储能技术服务；光伏设备及元器件销售",
    "食品": "食品生产；食品销售；农副产品销售",
    "酒业": "酒制品生产；酒类经营；食品销售",
    "茶业": "茶叶种植；茶叶制品生产；茶具销售",
    "环保科技": "环境保护监测；固体废物治理；大气污染治理",
    "教育咨询": "教育咨询服务（不含涉许可审批的教育培训活动）；信息咨询服务",
}
STATUSES = ("存续", "存续", "存续", "存续", "存续", "在业", "迁出", "注销", "吊销")

ENTITY_SCHEMA = pa.schema([  # the items of the 法人 base-registry template
    ("统一社会信用代码", pa.string()),
    ("机构名称", pa.string()),
    ("机构类型", pa.string()),
    ("法定代表人", pa.string()),
    ("成立日期", pa.date32()),
    ("注册资本", pa.float64()),
    ("登记机关", pa.string()),
    ("经营范围", pa.string()),
    ("登记状态", pa.string()),
    ("住所", pa.string()),
    ("行政区划代码", pa.string()),
])


def credit_code(rng: random.Random, type_digit: str, region_code: str) -> str:
    """A valid 18-character code: 9 + type + region + MA… org code + check character.

    >>> from shudata.standards.uscc import is_valid_uscc
    >>> is_valid_uscc(credit_code(random.Random(0), "1", "510104"), strict_org_code=True)
    True
    """
    body = "MA" + "".join(rng.choice(ALPHABET) for _ in range(6))
    return complete(f"9{type_digit}{region_code}{body}{org_code_check_char(body)}")


def _name(fake: Faker, region_code: str, industry: str, suffix: str) -> str:
    city = all_regions()[region_code[:4] + "00"].name
    place = city.removesuffix("市") if len(city) <= 4 else all_regions()[region_code].name
    return f"{place}{fake.company_prefix()}{industry}{suffix}"


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
        industry = rng.choice(sorted(INDUSTRIES))
        code, name = credit_code(rng, type_digit, county.code), _name(fake, county.code, industry, suffix)
        if code in codes or name in names:
            continue
        codes.add(code)
        names.add(name)
        founded = random_date(rng, dt.date(2015, 10, 1), REFERENCE_DATE - dt.timedelta(days=30))
        row = (code, name, kind, fake.name(), founded, float(rng.randrange(low, high + 1)),
               registrar(county.code, "市场监督管理局"), INDUSTRIES[industry], rng.choice(STATUSES),
               address(rng, county.code), county.code)
        for col, value in zip(cols, row, strict=True):
            cols[col].append(value)
    return pa.table(cols, schema=ENTITY_SCHEMA)
