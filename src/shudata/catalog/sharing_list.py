"""共享清单: a department's entries other departments may use (共享类型 1 无条件 / 2 有条件)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog import actions as A
from shudata.catalog import visibility
from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import SHARING_LABELS, SharingListRow
from shudata.catalog.service import to_reads
from shudata.catalog.xlsx import workbook_bytes
from shudata.core.types import Actor
from shudata.security.authz import require

FRESHNESS_LABELS = {"fresh": "按期更新", "overdue": "超期未更新", "no_data": "尚无数据"}
HEADERS = ["资源代码", "资源名称", "提供方", "共享类型", "共享条件", "共享方式", "更新周期", "资源格式", "信息项",
           "数据时效"]


def sharing_list(*, session: Session, actor: Actor, department_id: int | None = None) -> list[SharingListRow]:
    """Shareable entries (type 1 or 2), of one department or of all, ordered by code."""
    require(actor, A.RESOURCE_VIEW)
    stmt = select(CatalogResource).where(CatalogResource.is_deleted.is_(False),
                                         CatalogResource.sharing_type.in_([1, 2])).order_by(CatalogResource.code)
    if department_id is not None:
        stmt = stmt.where(CatalogResource.provider_department_id == department_id)
    out = []
    for r in to_reads(session, visibility.only_visible(session, actor, session.scalars(stmt).all())):
        out.append(SharingListRow(
            code=r.code, name=r.name, provider_name=r.provider_name, sharing_type=int(r.sharing.type),
            sharing_label=SHARING_LABELS[int(r.sharing.type)][0], sharing_condition=r.sharing.condition,
            sharing_method=r.sharing.method.value, update_cycle=r.update_cycle.value,
            format_category=r.format_category.value, items="、".join(i.name for i in r.information_items),
            freshness=r.freshness))
    return out


def export_sharing_list(*, session: Session, actor: Actor, department_id: int | None = None) -> bytes:
    """The sharing list as XLSX (formula-safe cells)."""
    rows = [[r.code, r.name, r.provider_name, r.sharing_label, r.sharing_condition or "", r.sharing_method,
             r.update_cycle, r.format_category, r.items, FRESHNESS_LABELS.get(r.freshness, r.freshness)]
            for r in sharing_list(session=session, actor=actor, department_id=department_id)]
    return workbook_bytes([("共享清单", HEADERS, rows)])
