"""Entity types the recognizers find, with their GB/T 35273 category and proposed grade.

Grades follow a four-level 分级 scheme: 4 = 敏感个人信息 (sensitive personal
information, GB/T 35273-2020 §3.2 and annex B), 3 = 一般个人信息, 2 = 内部/组织标识,
1 = 公开. A column's proposed grade is the highest of its findings; the steward confirms.

>>> ENTITIES["CN_RESIDENT_ID"].grade
4
>>> grade_label(4, "en")
'Level 4 (sensitive personal information)'
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class EntityType:
    """One kind of sensitive data."""

    name: str
    zh: str
    en: str
    category: str  # GB/T 35273 category (zh)
    sensitive: bool  # 敏感个人信息
    grade: int  # 1..4


def _e(name: str, zh: str, en: str, category: str, sensitive: bool, grade: int) -> EntityType:
    return EntityType(name, zh, en, category, sensitive, grade)


ENTITIES: dict[str, EntityType] = {e.name: e for e in (
    _e("CN_RESIDENT_ID", "居民身份证号", "resident ID number", "个人身份信息", True, 4),
    _e("CN_PASSPORT", "护照号", "passport number", "个人身份信息", True, 4),
    _e("HK_MACAU_PERMIT", "港澳通行证号", "Hong Kong/Macau travel permit", "个人身份信息", True, 4),
    _e("TAIWAN_PERMIT", "台湾通行证号", "Taiwan travel permit", "个人身份信息", True, 4),
    _e("MILITARY_ID", "军官证号", "military officer ID", "个人身份信息", True, 4),
    _e("BANK_CARD", "银行卡号", "bank card number", "个人财产信息", True, 4),
    _e("GPS_COORDINATE", "精确位置（经纬度）", "precise location (GPS)", "个人位置信息", True, 4),
    _e("PERSON_NAME", "姓名", "personal name", "个人基本资料", False, 3),
    _e("CN_MOBILE", "手机号", "mobile number", "个人基本资料", False, 3),
    _e("CN_LANDLINE", "固定电话", "landline number", "个人基本资料", False, 3),
    _e("EMAIL", "电子邮箱", "email address", "个人基本资料", False, 3),
    _e("ADDRESS", "地址", "address", "个人基本资料", False, 3),
    _e("DATE_OF_BIRTH", "出生日期", "date of birth", "个人基本资料", False, 3),
    _e("CN_LICENSE_PLATE", "车牌号", "licence plate", "个人财产信息", False, 3),
    _e("IP_ADDRESS", "IP 地址", "IP address", "网络身份标识信息", False, 3),
    _e("CN_USCC", "统一社会信用代码", "unified social credit code", "组织机构标识", False, 2),
    _e("ORGANIZATION", "组织机构名称", "organisation name", "组织机构信息（非个人信息）", False, 1),
)}

# Entities that identify a natural person on their own: a table holding one of them is about
# people, so its addresses, coordinates and landlines are personal too.
PERSON_ANCHORS = frozenset({"CN_RESIDENT_ID", "CN_PASSPORT", "HK_MACAU_PERMIT", "TAIWAN_PERMIT", "MILITARY_ID",
                            "BANK_CARD", "DATE_OF_BIRTH"})
# Entities that say the rows are about persons unless an organisation-name column says they are
# about organisations (an enterprise register lists its legal representative and a contact mobile).
PERSON_HINTS = frozenset({"PERSON_NAME", "CN_MOBILE", "EMAIL", "CN_LICENSE_PLATE"})
# Entities that are personal only in a table about natural persons (an address or coordinate of a
# school, a scenic area or a hospital is not personal information).
CONTEXTUAL = frozenset({"ADDRESS", "GPS_COORDINATE", "CN_LANDLINE"})
# Headers that say the place or number is a person's own (home, residence, household registration,
# birthplace, delivery address): personal in any table — an employee list with 工作单位 next to
# 家庭住址 is still about persons' homes. (住所 is left out: it is an enterprise's registered domicile.)
PERSONAL_PLACE_HEADER = re.compile(r"家庭|住址|户籍|居住|现住|常住地|籍贯|出生地|收货|收件|住宅电话|家庭电话|宅电|"
                                   r"home|residen|domicile_of_person|birth_?place", re.IGNORECASE)


def personal_by_header(column: str) -> bool:
    """Does the header say the address, coordinates or landline are a person's own?

    >>> [personal_by_header(h) for h in ("家庭住址", "户籍地址", "住所", "地址", "经度")]
    [True, True, False, False, False]
    """
    return PERSONAL_PLACE_HEADER.search(column) is not None

GRADE_LABELS = {
    4: ("第4级（敏感个人信息）", "Level 4 (sensitive personal information)"),
    3: ("第3级（一般个人信息）", "Level 3 (personal information)"),
    2: ("第2级（内部/组织标识）", "Level 2 (internal / organisation identifiers)"),
    1: ("第1级（公开）", "Level 1 (public)"),
}


def grade_label(grade: int, lang: str = "zh-CN") -> str:
    zh, en = GRADE_LABELS[grade]
    return en if lang == "en" else zh


def entity(name: str) -> EntityType:
    """The entity type called ``name``; ``KeyError`` if unknown."""
    return ENTITIES[name]
