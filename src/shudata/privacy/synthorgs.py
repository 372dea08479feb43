"""Seeded synthetic enterprise registrations (企业登记), for detection tests and evaluation.

Shaped like a market-regulation register: company names of every kind — Faker ``zh_CN``
companies, shops, factories and individual businesses, some carrying the owner's name
(``金牛区王建国五金经营部``, a person's name inside a company name is not a person) —,
business scopes written the way registers write them, legal representatives (real person
names), domiciles, registered capital with mixed units and credit codes.

>>> t = enterprises(4, seed=1)
>>> t.column_names
['企业名称', '经营范围', '法定代表人', '住所', '注册资金', '统一社会信用代码', '企业类型']
>>> all(v.endswith(ORG_SUFFIXES) for v in t.column("企业名称").to_pylist())
True
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from shudata.privacy.detect.validators import words
from shudata.standards.uscc import complete

DISTRICTS = words("""
成都市金牛区 成都市武侯区 成都市成华区 绵阳市涪城区 德阳市旌阳区 宜宾市翠屏区 乐山市市中区
泸州市江阳区 南充市顺庆区 达州市通川区
""")
TRADES = words("""
五金 副食 机械 建材 服装 餐饮 电器 百货 农机 汽车修理 印刷 家具 粮油 茶叶 运输 建筑安装 化工 食品
""")
ORG_SUFFIXES = words("""
有限公司 有限责任公司 股份有限公司 厂 经营部 商店 门市部 服务部 合作社 个体户 加工厂 店 贸易公司
商行 批发部 总公司 分公司 酒楼 招待所 站
""")
# the last ones hold words jieba tags as names (苗木, 桂圆, 宋锦, 汪家, 黄金首饰): surname-like substrings
SCOPES = words("""
五金交电、日用百货、建筑材料的批发零售 餐饮服务 机械设备维修 服装加工、销售 代购代销
农副产品收购（粮棉除外） 普通货运 技术咨询、技术服务 家用电器维修 烟酒零售 汽车配件销售
房屋建筑工程施工 印刷品印刷 木制家具制造 粮油制品加工 茶叶种植、加工、销售
化工原料（不含危险品）销售 预包装食品兼散装食品销售 住宿服务 文化办公用品销售 企业管理咨询
计算机软硬件开发及销售 （依法须经批准的项目，经相关部门批准后方可开展经营活动）
兼营：小五金、塑料制品 主营：钢材、水泥；兼营：木材 房屋中介 花卉、苗木 桂圆、红枣等干果销售
黄金首饰零售 宋锦、蜀锦销售 汪家拐米粉
""")
CAPITAL_UNITS = ("万元人民币", "万美元", "万港元", "万元", "")
KINDS = ("有限责任公司", "个人独资企业", "个体工商户", "全民所有制", "集体所有制", "股份合作制", "N/A")


def _company(fake: object, rng: np.random.Generator, person: str) -> str:
    district = DISTRICTS[rng.integers(0, len(DISTRICTS))]
    trade = TRADES[rng.integers(0, len(TRADES))]
    kind = rng.integers(0, 4)
    if kind == 0:
        return str(fake.company())  # type: ignore[attr-defined]
    suffix = ORG_SUFFIXES[rng.integers(0, len(ORG_SUFFIXES))]
    if kind == 1:  # the owner's name inside the company name
        return f"{district}{person}{trade}{suffix}"
    if kind == 2:
        return f"{district}{person[0]}记{trade}{suffix}"
    return f"四川省{district}{fake.company_prefix()!s}{trade}{suffix}"  # type: ignore[attr-defined]


def enterprises(n: int, seed: int = 0) -> pa.Table:
    """``n`` synthetic enterprise registrations (see the module docstring)."""
    from faker import Faker  # noqa: PLC0415 - faker loads only for synthetic data

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = np.random.default_rng(seed)
    reps = [str(fake.name()) for _ in range(n)]
    names = [_company(fake, rng, reps[(i * 7 + 3) % n]) for i in range(n)]
    scopes = ["；".join(SCOPES[j] for j in rng.choice(len(SCOPES), size=int(rng.integers(1, 6)), replace=False))
              for _ in range(n)]
    domicile = [f"{DISTRICTS[rng.integers(0, len(DISTRICTS))]}{fake.street_name()}{rng.integers(1, 300)}号"
                for _ in range(n)]
    capital = [f"{rng.integers(1, 5000)}{CAPITAL_UNITS[rng.integers(0, len(CAPITAL_UNITS))]}" for _ in range(n)]
    uscc = [complete(f"9151{rng.integers(1000, 9999)}MA{rng.integers(1000000, 9999999)}") for _ in range(n)]
    kinds = [KINDS[rng.integers(0, len(KINDS))] for _ in range(n)]
    return pa.table({"企业名称": names, "经营范围": scopes, "法定代表人": reps, "住所": domicile, "注册资金": capital,
                     "统一社会信用代码": uscc, "企业类型": kinds})
