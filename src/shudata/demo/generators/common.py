"""Helpers shared by the generators: a seeded Faker, Sichuan counties, region names."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import random
from importlib import resources

from faker import Faker

from shudata.standards.regions import Region, all_regions, sichuan_counties

REFERENCE_DATE = dt.date(2026, 1, 1)  # fixed "today" of the generated registries (determinism)


def seeded(seed: int) -> tuple[Faker, random.Random]:
    """A zh_CN Faker and a ``random.Random`` both derived from ``seed``."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    return fake, random.Random(seed)


def real_counties() -> list[Region]:
    """Sichuan county-level units, without the NBS "市辖区" grouping rows."""
    return [r for r in sichuan_counties() if r.name != "市辖区"]


def full_region_name(code: str) -> str:
    """``"四川省成都市锦江区"`` for ``"510104"``.

    >>> full_region_name("510104")
    '四川省成都市锦江区'
    """
    regions = all_regions()
    parts = [regions[c].name for c in (code[:2] + "0000", code[:4] + "00", code) if c in regions]
    return "".join(dict.fromkeys(parts))


ROADS = ("人民路", "建设路", "解放路", "新华街", "中山路", "滨江路", "文化路", "团结路", "和平街", "光明路",
         "顺城街", "东大街", "西大街", "南街", "北街", "府河路", "锦江路", "学府路", "创业路", "迎宾大道")


@functools.cache
def townships() -> dict[str, list[str]]:
    """Sichuan township/street names (乡镇街道) by county code, from the bundled table."""
    path = resources.files("shudata.standards").joinpath("data", "regions", "streets_sichuan.csv")
    out: dict[str, list[str]] = {}
    with path.open("r", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["areaCode"], []).append(row["name"])
    return out


def address(rng: random.Random, county_code: str) -> str:
    """A plausible street address in a county: region names, a real township, a road, a number.

    >>> address(random.Random(1), "510104").startswith("四川省成都市锦江区")
    True
    """
    towns = townships().get(county_code) or [""]
    return f"{full_region_name(county_code)}{rng.choice(towns)}{rng.choice(ROADS)}{rng.randrange(1, 400)}号"


def registrar(county_code: str, suffix: str) -> str:
    """The county-level office, e.g. ``"成都市锦江区市场监督管理局"``.

    >>> registrar("510104", "市场监督管理局")
    '成都市锦江区市场监督管理局'
    """
    regions = all_regions()
    city, county = regions[county_code[:4] + "00"].name, regions[county_code].name
    return f"{city}{county}{suffix}" if county != city else f"{county}{suffix}"


def random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    """A uniformly random day in ``[start, end]``."""
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))
