"""人口基础信息: seeded persons with valid resident ID numbers (GB 11643).

The columns are the items of the 人口 base-registry template (codes per GB/T 2261.1 性别,
GB/T 3304 民族, GB/T 2261.2 婚姻状况, GB/T 4658 文化程度). The ID's region is a real Sichuan
county, its birth date is the person's birth date, its sequence digit agrees with the sex
(odd 1 男, even 2 女), its check digit is valid.

>>> t = generate_persons(3, seed=1)
>>> t.num_rows, t.column_names[:3]
(3, ['公民身份号码', '姓名', '性别'])
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

# GB/T 3304 codes of the groups common in Sichuan, with rough shares
ETHNIC_GROUPS = (("01", 93.0), ("07", 3.0), ("04", 2.0), ("33", 0.5), ("03", 0.3), ("15", 0.5), ("06", 0.4),
                 ("02", 0.3))
YI, TIBETAN, QIANG = "07", "04", "33"
LIANGSHAN, ABA_GANZI = "5134", ("5132", "5133")
SEX_CODES = {"男": "1", "女": "2"}  # GB/T 2261.1
MARRIAGE = (("10", 25.0), ("20", 60.0), ("30", 8.0), ("40", 7.0))  # GB/T 2261.2 未婚 已婚 丧偶 离婚
EDUCATION = (("10", 2.0), ("20", 12.0), ("30", 12.0), ("40", 8.0), ("60", 18.0), ("70", 30.0), ("80", 15.0),
             ("90", 3.0))  # GB/T 4658 研究生 本科 专科 中职 高中 初中 小学 其他

PERSON_SCHEMA = pa.schema([  # the items of the 人口 base-registry template
    ("公民身份号码", pa.string()),
    ("姓名", pa.string()),
    ("性别", pa.string()),
    ("民族", pa.string()),
    ("出生日期", pa.date32()),
    ("出生地", pa.string()),
    ("户籍地址", pa.string()),
    ("行政区划代码", pa.string()),
    ("婚姻状况", pa.string()),
    ("文化程度", pa.string()),
    ("联系电话", pa.string()),
    ("死亡日期", pa.date32()),
])


def resident_id(region_code: str, birth: dt.date, sequence: int) -> str:
    """The 18-digit ID for a county, birth date and 3-digit sequence (odd = 男).

    >>> resident_id("510104", dt.date(1990, 5, 17), 123)
    '510104199005171231'
    """
    first17 = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + compute_check_char(first17)


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([c for c, _ in table], [w for _, w in table])[0]


def _ethnic_group(rng: random.Random, region_code: str) -> str:
    if region_code.startswith(LIANGSHAN) and rng.random() < 0.5:
        return YI
    if region_code.startswith(ABA_GANZI) and rng.random() < 0.5:
        return rng.choice((TIBETAN, QIANG))
    return _weighted(rng, ETHNIC_GROUPS)


def _age(birth: dt.date) -> int:
    return (REFERENCE_DATE - birth).days // 365


def _marriage(rng: random.Random, birth: dt.date) -> str:
    return "10" if _age(birth) < 20 else _weighted(rng, MARRIAGE)


def _education(rng: random.Random, birth: dt.date) -> str:
    age = _age(birth)
    if age < 7:
        return "90"
    if age < 13:
        return "80"
    if age < 16:
        return "70"
    if age < 19:
        return rng.choice(("60", "70", "40"))
    return _weighted(rng, EDUCATION)


def _death(rng: random.Random, birth: dt.date) -> dt.date | None:
    if _age(birth) < 60 or rng.random() > 0.05:
        return None
    return random_date(rng, max(birth, dt.date(2000, 1, 1)), REFERENCE_DATE - dt.timedelta(days=1))


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
        row = (number, fake.name_male() if male else fake.name_female(), SEX_CODES["男" if male else "女"],
               _ethnic_group(rng, county.code), birth, full_region_name(county.code), address(rng, county.code),
               county.code, _marriage(rng, birth), _education(rng, birth), fake.phone_number(),
               _death(rng, birth))
        for name, value in zip(cols, row, strict=True):
            cols[name].append(value)
    return pa.table(cols, schema=PERSON_SCHEMA)
