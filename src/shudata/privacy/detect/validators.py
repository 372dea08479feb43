"""Validators: a value that matched a pattern is kept only if it is *real*.

Check digits, real dates and real region codes reuse :mod:`shudata.standards`. Each
validator takes one normalised string (run on a bounded sample, never a whole table).

>>> VALIDATORS["cn_resident_id"]("11010519491231002X")
True
>>> VALIDATORS["cn_resident_id"]("110105194912310021")
False
>>> VALIDATORS["bank_card"]("6222020200112233446")
True
>>> VALIDATORS["cn_mobile"]("13812345678"), VALIDATORS["cn_mobile"]("12012345678")
(True, False)
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Callable
from importlib import resources

from shudata.standards.cn_id import is_valid_legacy_15, is_valid_resident_id
from shudata.standards.luhn import is_valid_luhn
from shudata.standards.regions import is_known_county_code, name_index
from shudata.standards.uscc import is_valid_uscc

MOBILE_RE = re.compile(r"^(?:\+?86)?1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}$")
BIN_PREFIXES = ("62", "4", "5", "3", "60", "9")
ADDRESS_MARKERS = ("路", "街", "道", "号", "巷", "村", "镇", "乡", "小区", "栋", "单元", "室", "大道", "组", "社区")


def words(text: str) -> tuple[str, ...]:
    """A word list written as text, one blank between words (keeps long Chinese lists readable)."""
    return tuple(text.split())


NOT_NAME_SUFFIX = tuple("省市县区镇乡村路街局厅委院所处站队校园司社部馆场店厂公记行")
# How names of organisations, enterprises and institutions end (企业名称, 单位名称, 学校名称 …).
ORG_SUFFIXES = words("""
公司 厂 局 委员会 委 中心 学校 医院 合作社 经营部 个体户 店 所 院 站 社 行 馆 办事处 集团 大学 学院
部 厅 处 会 队 团 校 幼儿园 诊所 工作室 协会 政府 班 坊 铺 吧 院区 商号 车队 农场 林场 养殖场 市场
卫生室 门诊 口腔 诊室 医疗美容 商场 基地 宾馆 酒店 酒楼 茶楼 公园 产业园 科技园 园区 联社 委会 户
""")
ORG_TRAILER = re.compile(r"[（(][^）)]{1,12}[）)]$")  # 成都某某有限公司（分公司）, （普通合伙）


def resident_id(value: str) -> bool:
    """18-digit ID with a real date, known region and check digit; or a legacy 15-digit ID."""
    if len(value) == 15:
        return is_valid_legacy_15(value) and is_known_county_code(value[:6])
    return is_valid_resident_id(value)


def bank_card(value: str) -> bool:
    return 15 <= len(value) <= 19 and value.startswith(BIN_PREFIXES) and is_valid_luhn(value)


def mobile(value: str) -> bool:
    return MOBILE_RE.match(value) is not None


def landline(value: str) -> bool:
    digits = value.replace("-", "")
    return digits.startswith("0") and not digits.startswith("00") and 10 <= len(digits) <= 12


def ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def gps(value: str) -> bool:
    parts = re.split(r"[,，\s]+", value.strip())
    try:
        a, b = (float(p) for p in parts)
    except ValueError:
        return False
    return (-90 <= a <= 90 and -180 <= b <= 180) or (-180 <= a <= 180 and -90 <= b <= 90)


def date_value(value: str) -> bool:
    m = re.match(r"^(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?", value)
    if not m:
        return False
    try:
        d = dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return False
    return dt.date(1880, 1, 1) <= d <= dt.date.today()


@functools.cache
def surnames() -> tuple[frozenset[str], frozenset[str]]:
    """(single-character surnames, compound surnames) from the bundled table."""
    path = resources.files("shudata.privacy.detect").joinpath("data", "surnames.txt")
    words = path.read_text(encoding="utf-8").split("\n", 1)[1].split()
    return frozenset(w for w in words if len(w) == 1), frozenset(w for w in words if len(w) == 2)


def person_name(value: str) -> bool:
    """2-4 Chinese characters starting with a known surname, not ending like a place."""
    if not 2 <= len(value) <= 4 or not all("\u4e00" <= c <= "\u9fff" or c == "·" for c in value):
        return False
    if value.endswith(NOT_NAME_SUFFIX) or value in name_index():
        return False  # a place (成都, 绵阳), not a person
    single, compound = surnames()
    return value[:2] in compound or value[0] in single


def organization(value: str) -> bool:
    """An organisation name: 3+ characters with Chinese, ending like one (公司, 厂, 学校, 医院 …).

    >>> organization("成都市金牛区王建国五金经营部"), organization("北京大学"), organization("王建国")
    (True, True, False)
    """
    value = ORG_TRAILER.sub("", value.strip())
    if len(value) < 3 or not any("\u4e00" <= c <= "\u9fff" for c in value):
        return False
    return value.endswith(ORG_SUFFIXES)


def address(value: str) -> bool:
    """A region name (province, city or county) plus a street-level marker, or 3+ markers."""
    if len(value) < 6:
        return False
    markers = sum(m in value for m in ADDRESS_MARKERS)
    has_region = any(value.startswith(n) or n in value[:12] for n in _region_prefixes(value[:2]))
    return (has_region and markers >= 1) or markers >= 3


def _region_prefixes(head: str) -> tuple[str, ...]:
    """The region names starting with ``head`` (a value's first two characters)."""
    return _names_by_head().get(head, ()) if len(head) == 2 else tuple(n for n in name_index() if n.startswith(head))


@functools.cache
def _names_by_head() -> dict[str, tuple[str, ...]]:
    """Region names by their first two characters, in the index's order: a value's candidates in one lookup,
    not a scan of the ~7,000 names per value (most of the demo's load went into that scan)."""
    heads: dict[str, list[str]] = {}
    for n in name_index():
        if len(n) >= 2:
            heads.setdefault(n[:2], []).append(n)
    return {h: tuple(ns) for h, ns in heads.items()}


def uscc(value: str) -> bool:
    return is_valid_uscc(value)


def email(value: str) -> bool:
    local, _, domain = value.rpartition("@")
    return bool(local) and "." in domain and ".." not in value


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "cn_resident_id": resident_id,
    "bank_card": bank_card,
    "cn_mobile": mobile,
    "cn_landline": landline,
    "ip_address": ip_address,
    "gps": gps,
    "date": date_value,
    "person_name": person_name,
    "address": address,
    "organization": organization,
    "uscc": uscc,
    "email": email,
}
