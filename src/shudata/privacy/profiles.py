"""Named profiles per use: ``open`` (public portal), ``share-conditional``, ``trade``, ``internal``.

A profile gives the default operator for each detected entity type (used when a policy
says nothing about a column) and the export gate's threshold: findings of entities at or
above ``refuse_grade`` in more than ``tolerance`` of the sampled values block the export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ProfileName = Literal["open", "share-conditional", "trade", "internal"]
PROFILES_ORDER: tuple[ProfileName, ...] = ("open", "share-conditional", "trade", "internal")

_SUPPRESS: dict[str, Any] = {"op": "suppress"}


@dataclass(frozen=True)
class Profile:
    name: ProfileName
    zh: str
    en: str
    refuse_grade: int
    tolerance: float
    entity_defaults: dict[str, dict[str, Any]]


_STRICT: dict[str, dict[str, Any]] = {
    "CN_RESIDENT_ID": _SUPPRESS, "CN_PASSPORT": _SUPPRESS, "HK_MACAU_PERMIT": _SUPPRESS,
    "TAIWAN_PERMIT": _SUPPRESS, "MILITARY_ID": _SUPPRESS, "BANK_CARD": _SUPPRESS, "GPS_COORDINATE": _SUPPRESS,
    "ADDRESS": _SUPPRESS, "IP_ADDRESS": {"op": "mask_all"},
    "PERSON_NAME": {"op": "partial_mask", "keep_head": 1},
    "CN_MOBILE": {"op": "partial_mask", "keep_head": 3, "keep_tail": 4},
    "CN_LANDLINE": {"op": "partial_mask", "keep_head": 4, "keep_tail": 2},
    "EMAIL": {"op": "partial_mask", "keep_head": 2},
    "DATE_OF_BIRTH": {"op": "date_generalize", "level": "year"},
    "CN_LICENSE_PLATE": {"op": "partial_mask", "keep_head": 2, "keep_tail": 1},
    "CN_USCC": {"op": "keep"}, "ORGANIZATION": {"op": "keep"},
}

_SHARE: dict[str, dict[str, Any]] = {
    **_STRICT,
    "CN_RESIDENT_ID": {"op": "partial_mask", "keep_head": 6, "keep_tail": 4},
    "BANK_CARD": {"op": "partial_mask", "keep_head": 6, "keep_tail": 4},
    "ADDRESS": {"op": "partial_mask", "keep_head": 6},
    "DATE_OF_BIRTH": {"op": "date_generalize", "level": "month"},
}

_INTERNAL: dict[str, dict[str, Any]] = {
    **{k: {"op": "keep"} for k in _STRICT},
    "CN_RESIDENT_ID": {"op": "partial_mask", "keep_head": 6, "keep_tail": 4},
    "BANK_CARD": {"op": "partial_mask", "keep_head": 6, "keep_tail": 4},
    "CN_PASSPORT": {"op": "partial_mask", "keep_head": 1, "keep_tail": 2},
    "GPS_COORDINATE": _SUPPRESS,
}

PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("open", "公共数据开放", "open data portal", 3, 0.01, _STRICT),
    Profile("share-conditional", "有条件共享", "conditional sharing", 4, 0.01, _SHARE),
    Profile("trade", "数据交易", "data trading", 3, 0.01, _STRICT),
    Profile("internal", "部门内部", "internal use", 4, 0.05, _INTERNAL),
)}
