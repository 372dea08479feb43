"""The exchange's custody area (托管区) for sellers' own data: one department the exchange holds,
数据交易所供方数据托管区, whose catalog entries (不予共享, 不予开放) hold enterprise sellers' uploads
and every desensitized derivative. Inside the market an entry belongs to the seller whose product
wraps it (see :mod:`shudata.market.uploads`); catalog listings show these entries only to the
custody department's staff and the exchange operator (:mod:`shudata.catalog.visibility`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.catalog.access import find_resource
from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import OpenAttributes, OpenType, ResourceCreate, SharingAttributes, SharingType
from shudata.catalog.service import register_resource
from shudata.catalog.visibility import CUSTODY_DEPARTMENT
from shudata.core.types import Actor
from shudata.market.models import MarketParticipant, MarketProduct, MarketProductSource
from shudata.security.models import Department
from shudata.standards.uscc import complete

CUSTODY_NAME = CUSTODY_DEPARTMENT  # the catalog shows its entries only to its staff and the operator
CUSTODY_USCC = complete("12510000MB0C00000")  # the exchange's custody area (a placeholder code)
CUSTODY_REGION = "510000"
UPLOAD_TAG = "market-upload"
DERIVED_TAG = "market-derivative"
NOT_SHARED_BASIS = "数据交易所托管的供方数据：仅供方本身和交易所挂牌审核使用，不在政务共享、开放范围"



def custody_department(session: Session) -> Department:
    """The department holding sellers' uploads and derivatives (created on first use)."""
    dept = session.scalar(select(Department).where(Department.name == CUSTODY_NAME))
    if dept is None:
        dept = Department(name=CUSTODY_NAME, uscc=CUSTODY_USCC, region_code=CUSTODY_REGION)
        session.add(dept)
        session.flush()
    return dept


def is_custody(session: Session, res: CatalogResource) -> bool:
    dept = session.scalar(select(Department.id).where(Department.name == CUSTODY_NAME))
    return dept is not None and res.provider_department_id == dept


def owned_by(session: Session, seller_id: int, resource_id: int) -> bool:
    """A custody entry belongs to the seller whose product wraps it."""
    return session.scalar(select(MarketProductSource.id).join(
        MarketProduct, MarketProduct.id == MarketProductSource.product_id).where(
        MarketProductSource.resource_id == resource_id, MarketProduct.seller_id == seller_id).limit(1)) is not None


def register_custody_entry(session: Session, seller: MarketParticipant, name: str, abstract: str,
                           tag: str) -> CatalogResource:
    """A new custody entry (no information items yet: the first version's columns become them)."""
    dept = custody_department(session)
    data = ResourceCreate(name=name[:200], abstract=abstract[:4000], provider_department_id=dept.id,
                          sharing=SharingAttributes(type=SharingType.NONE, condition=NOT_SHARED_BASIS),
                          open=OpenAttributes(type=OpenType.NONE), tags=[tag, f"seller:{seller.uscc}"])
    read = register_resource(session=session, actor=Actor.system(), data=data, comment=f"供方数据托管：{seller.name}")
    return find_resource(session, read.code)
