"""What the entry page shows beyond the entry itself: field labels and the revision diff.

>>> from types import SimpleNamespace as NS
>>> revs = [NS(revision=2, snapshot={"name": "新", "tags": []}, changed_fields=["name"]),
...         NS(revision=1, snapshot={"name": "旧", "tags": []}, changed_fields=["name", "tags"])]
>>> [(c.field, c.before, c.after) for c in revision_changes(revs)[0]]
[('name', '旧', '新')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "name": ("资源名称", "Name"), "alias": ("别名", "Alias"), "classification": ("资源分类", "Classification"),
    "category_path": ("类目路径", "Category path"), "abstract": ("摘要", "Abstract"),
    "format_category": ("格式分类", "Format category"), "format_type": ("格式类型", "Format type"),
    "update_cycle": ("更新周期", "Update cycle"), "publish_date": ("发布日期", "Publish date"),
    "related_codes": ("关联资源", "Related codes"), "base_registry": ("基础库", "Base registry"),
    "tags": ("标签", "Tags"), "code": ("资源代码", "Code"), "provider_department_id": ("提供方", "Provider"),
    "information_items": ("信息项", "Information items"), "sharing_type": ("共享类型", "Sharing type"),
    "sharing_condition": ("共享条件", "Sharing condition"), "sharing_method": ("共享方式", "Sharing method"),
    "open_type": ("开放类型", "Open type"), "open_condition": ("开放条件", "Open condition"),
    "is_deleted": ("已删除", "Deleted"),
}


class RevisionLike(Protocol):
    revision: int
    snapshot: dict[str, Any]
    changed_fields: list[str]


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def field_label(name: str, lang: str) -> str:
    zh, en = FIELD_LABELS.get(name, (name, name))
    return en if lang == "en" else zh


def show_value(value: Any, limit: int = 160) -> str:
    """A snapshot value as short text (information items by name).

    >>> show_value([{"name": "地区"}, {"name": "年份"}])
    '地区、年份'
    >>> show_value(None)
    '—'
    """
    if value is None or value in ("", []):
        return "—"
    if isinstance(value, list):
        text = "、".join(str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def revision_changes(revisions: Sequence[RevisionLike]) -> list[list[Change]]:
    """For each revision (newest first), its changed fields with before/after values.

    The first revision (registration) lists no before values, only the fields it set.
    """
    out: list[list[Change]] = []
    for i, rev in enumerate(revisions):
        prev = revisions[i + 1].snapshot if i + 1 < len(revisions) else None
        if prev is None:
            out.append([])
            continue
        out.append([Change(f, show_value(prev.get(f)), show_value(rev.snapshot.get(f)))
                    for f in rev.changed_fields])
    return out
