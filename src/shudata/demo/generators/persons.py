"""人口基础信息: seeded persons with valid resident ID numbers (GB 11643).

The ID's region is a real Sichuan county, its birth date is the person's birth date,
its sequence digit agrees with the sex (odd 男, even 女), its check digit is valid.

>>> t = generate_persons(3, seed=1)
>>> t.num_rows, t.column_names[:3]
(3, ['姓名', '公民身份号码', '性别'])
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa

from shudata.demo.generators.common import (
    REFERENCE_DATE,
    address,
    full_region_name,
    random_date,
    real_counties,
    seeded,
)
from shudata.standards.cn_id import compute_check_char

ETHNIC_GROUPS = ("汉族", "彝族", "藏族", "羌族", "回族", "土家族", "苗族", "蒙古族")
ETHNIC_WEIGHTS = (93.0, 3.0, 2.0, 0.5, 0.3, 0.5, 0.4, 0.3)
LIANGSHAN, ABA_GANZI = "5134", ("5132", "5133")

PERSON_SCHEMA = pa.schema([
    ("姓名", pa.string()),
    ("公民身份号码", pa.string()),
    ("性别", pa.string()),
    ("出生日期", pa.date32()),
    ("民族", pa.string()),
    ("户籍地行政区划代码", pa.string()),
    ("户籍地", pa.string()),
    ("住址", pa.string()),
    ("联系电话", pa.string()),
])


def resident_id(region_code: str, birth: dt.date, sequence: int) -> str:
    """The 18-digit ID for a county, birth date and 3-digit sequence (odd = 男).

    >>> resident_id("510104", dt.date(1990, 5, 17), 123)
    '510104199005171231'
    """
    first17 = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + compute_check_char(first17)


def _ethnic_group(rng: random.Random, region_code: str) -> str:
    if region_code.startswith(LIANGSHAN) and rng.random() < 0.5:
        return "彝族"
    if region_code.startswith(ABA_GANZI) and rng.random() < 0.5:
        return rng.choice(("藏族", "羌族"))
    return rng.choices(ETHNIC_GROUPS, ETHNIC_WEIGHTS)[0]


def _sequence(rng: random.Random, male: bool) -> int:
    seq = rng.randrange(0, 1000)
    if (seq % 2 == 1) != male:
        seq = seq + 1 if seq < 999 else seq - 1
    return seq


def generate_persons(n: int = 5000, *, seed: int = 2018) -> pa.Table:
    """``n`` persons registered in Sichuan counties; same ``seed`` → same table."""
    fake, rng = seeded(seed)
    counties = real_counties()
    cols: dict[str, list[object]] = {f.name: [] for f in PERSON_SCHEMA}
    seen: set[str] = set()
    while len(seen) < n:
        county = rng.choice(counties)
        male = rng.random() < 0.51
        birth = random_date(rng, dt.date(1935, 1, 1), REFERENCE_DATE - dt.timedelta(days=1))
        number = resident_id(county.code, birth, _sequence(rng, male))
        if number in seen:
            continue
        seen.add(number)
        where = full_region_name(county.code)
        row = (fake.name_male() if male else fake.name_female(), number, "男" if male else "女", birth,
               _ethnic_group(rng, county.code), county.code, where,
               address(rng, county.code), fake.phone_number())
        for name, value in zip(cols, row, strict=True):
            cols[name].append(value)
    return pa.table(cols, schema=PERSON_SCHEMA)
