"""A small market world for the market tests: the exchange operator, a regulator, a seller and a
buyer enterprise (each with its first account), all approved, and a data steward's department."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.market.participants import register_participant, review_participant
from shudata.market.schemas import AccountCreate, ParticipantCreate, ReviewCreate
from shudata.security.models import User
from shudata.security.service import actor_for
from shudata.standards.uscc import complete

PASSWORD = "Tianfu-Data-7"


def uscc(n: int) -> str:
    """A valid 统一社会信用代码 (check character computed), different for each ``n``."""
    return complete(f"91510100MA6{n:06d}")


@dataclass
class MarketWorld:
    operator: Actor
    regulator: Actor
    seller: Actor
    buyer: Actor
    seller_id: int
    buyer_id: int


def actor_of(rt: Runtime, username: str) -> Actor:
    with rt.transaction() as s:
        user = s.query(User).filter_by(username=username).one()
        return actor_for(user)


def enterprise(rt: Runtime, n: int, username: str, *kinds: str, grade: str | None = "A",
               operator: Actor | None = None) -> tuple[int, Actor]:
    """Register an enterprise with its first account; approve it with ``grade`` when given."""
    with rt.transaction() as s:
        p = register_participant(session=s, actor=Actor.anonymous(), settings=rt.settings, data=ParticipantCreate(
            name=f"测试数据企业{n}有限公司", uscc=uscc(n), kinds=list(kinds) or ["buyer"],  # type: ignore[arg-type]
            legal_representative="张三", contact_name="李四", contact_phone="028-86000000",
            account=AccountCreate(username=username, display_name=username, password=PASSWORD)))
    if grade is not None:
        with rt.transaction() as s:
            review_participant(session=s, actor=operator or Actor.system(), settings=rt.settings,
                               participant_id=p.id, data=ReviewCreate(decision="approve", grade=grade))  # type: ignore[arg-type]
    return p.id, actor_of(rt, username)


def market_world(rt: Runtime, make_user: object, *, buyer_grade: str = "A") -> MarketWorld:
    operator = make_user("exchange_op", Role.MARKET_OPERATOR)  # type: ignore[operator]
    regulator = make_user("regulator1", Role.REGULATOR)  # type: ignore[operator]
    seller_id, seller = enterprise(rt, 1, "seller1", "seller", operator=operator)
    buyer_id, buyer = enterprise(rt, 2, "buyer1", "buyer", grade=buyer_grade, operator=operator)
    return MarketWorld(operator, regulator, seller, buyer, seller_id, buyer_id)


# -- a department selling public data under 授权运营 ------------------------------------------------

GDP_ITEMS = [{"name": n, "data_type": t, "length": 50, "description": None}
             for n, t in (("地区", "C"), ("年份", "N"), ("地区生产总值", "N"))]
PEOPLE_ITEMS = [{"name": n, "data_type": "C", "length": 50, "description": None}
                for n in ("姓名", "手机号码", "城市", "消费金额")]
CITIES = ["成都市", "绵阳市", "德阳市", "宜宾市", "南充市", "泸州市", "达州市", "乐山市"]


@dataclass
class DepartmentSeller:
    department_id: int
    steward: Actor
    participant_id: int
    gdp: str  # resource codes
    people: str


def _entry(code: str, name: str, dept: int, items: list[dict[str, object]]) -> object:
    from shudata.catalog.models import CatalogResource

    return CatalogResource(code=code, name=name, classification="主题", abstract=name, provider_department_id=dept,
                           format_category="数据库", format_type="csv", information_items=items, sharing_type=1,
                           sharing_method="接口", open_type="不予开放", update_cycle="每年")


def department_seller(rt: Runtime, make_user: object, make_department: object,
                      operator: Actor | None = None) -> DepartmentSeller:
    """A department with a steward, two entries holding data (regional GDP; a consumer list with
    names and mobiles), registered and approved as a seller under 授权运营."""
    import pyarrow as pa

    from shudata.catalog.access import find_resource
    from shudata.catalog.writes import write_version
    from shudata.market.participants import register_department_seller
    from shudata.market.schemas import DepartmentSellerCreate

    dept = make_department("四川省大数据中心")  # type: ignore[operator]
    steward = make_user("dsj_steward", Role.DATA_STEWARD, department_id=dept)  # type: ignore[operator]
    op = operator or Actor.system()
    with rt.transaction() as s:
        s.add_all([_entry("301001/000001", "四川省市州地区生产总值", dept, GDP_ITEMS),
                   _entry("301001/000002", "消费者名单", dept, PEOPLE_ITEMS)])
    gdp = pa.table({"地区": CITIES * 3, "年份": [y for y in (2022, 2023, 2024) for _ in CITIES],
                    "地区生产总值": [float(1000 + 37 * i) for i in range(24)]})
    people = pa.table({"姓名": ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强"] * 5,
                       "手机号码": [f"139{i:08d}" for i in range(40)], "城市": CITIES * 5,
                       "消费金额": [float(100 + i) for i in range(40)]})
    with rt.transaction() as s:
        for code, table in (("301001/000001", gdp), ("301001/000002", people)):
            write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=find_resource(s, code),
                          batches_or_table=table, source_name=f"{code[-6:]}.csv", source_format="csv")
    with rt.transaction() as s:
        p = register_department_seller(session=s, actor=op, data=DepartmentSellerCreate(
            department_id=dept, authorisation="川府函〔2026〕8号 公共数据授权运营协议", legal_representative="张三",
            contact_name="李四", contact_phone="028-86000001"))
        review_participant(session=s, actor=op, settings=rt.settings, participant_id=p.id,
                           data=ReviewCreate(decision="approve", grade="A"))  # type: ignore[arg-type]
    return DepartmentSeller(dept, steward, p.id, "301001/000001", "301001/000002")


# Fingerprint settings that fit the two tables (a product offering file delivery needs them to be listed).
FINGERPRINTS = {"gdp": {"key_columns": ["地区", "年份"], "columns": {"地区生产总值": 0.5}},
                "people": {"key_columns": ["手机号码"], "columns": {"消费金额": 0.5}}}


def listed_product(rt: Runtime, ds: DepartmentSeller, op: Actor, code: str, *, price_fen: int = 1_000_000,
                   authorisation: str | None = None) -> tuple[int, int]:
    """A listed product of ``ds`` over ``code`` with a one-off plan: (product id, plan id)."""
    from shudata.market import products as PR
    from shudata.market.schemas import ListingDecision, PlanCreate, ProductCreate, ProductSheet, SourceRef

    with rt.transaction() as s:
        p = PR.create_product(session=s, actor=ds.steward, data=ProductCreate(
            seller_id=ds.participant_id, name=f"产品 {code}", sources=[SourceRef(resource=code)],
            sheet=ProductSheet(content="测试数据产品", scenarios=["区域经济研究"],
                               fingerprint=FINGERPRINTS["people" if code == ds.people else "gdp"]),
            delivery_modes=["api", "file"],
            rights=["holding", "operating"], source_evidence="统计公报", personal_authorisation=authorisation))
        plan = PR.create_plan(session=s, actor=ds.steward, product_id=p.id, data=PlanCreate(
            kind="one_off", name="一次性购买", price_fen=price_fen))
    with rt.transaction() as s:
        PR.submit_product(session=s, actor=ds.steward, settings=rt.settings, product_id=p.id)
        PR.review_product(session=s, actor=op, product_id=p.id, data=ListingDecision(decision="approve"))
    return p.id, plan.id


# -- products sold and orders delivering, written directly (the delivery tests) ------------------------

PLAN_NAMES = {"one_off": "一次性", "metered": "按量"}


def sold(s: Any, world: MarketWorld, code: str, *, sources: Sequence[int] = (), sheet: dict[str, Any] | None = None,
         modes: Sequence[str] = ("api",), plan: str = "one_off", price_fen: int = 100, name: str = "企业经营信息",
         masking_profile: str | None = None) -> tuple[Any, Any]:
    """A listed product ``code`` of the world's seller over the entries ``sources`` (their newest version)
    with one price plan of kind ``plan``, written as they are without the listing review: (product, plan)."""
    from shudata.market.models import MarketPricePlan, MarketProduct, MarketProductSource

    extra = {"masking_profile": masking_profile} if masking_profile else {}
    product = MarketProduct(code=code, name=name, seller_id=world.seller_id, status="listed", sheet=sheet or {},
                            delivery_modes=list(modes), created_by="seller1", **extra)
    s.add(product)
    s.flush()
    s.add_all([MarketProductSource(product_id=product.id, resource_id=rid, version=None) for rid in sources])
    price_plan = MarketPricePlan(product_id=product.id, kind=plan, name=PLAN_NAMES[plan], price_fen=price_fen,
                                 created_by="seller1")
    s.add(price_plan)
    s.flush()
    return product, price_plan


def delivering(s: Any, world: MarketWorld, product: Any, plan: Any, code: str, *, buyer_id: int | None = None,
               mode: str = "api", purpose: str = "经营分析") -> Any:
    """Order ``code`` of the buyer (``buyer_id``: another one) for ``product`` at ``plan``'s price, already
    in ``delivering`` (written as it is, no entitlement opened)."""
    from shudata.market.models import MarketOrder

    order = MarketOrder(code=code, product_id=product.id, plan_id=plan.id, buyer_id=buyer_id or world.buyer_id,
                        seller_id=world.seller_id, price_fen=plan.price_fen, purpose=purpose, delivery_mode=mode,
                        status="delivering", created_by="buyer1")
    s.add(order)
    s.flush()
    return order


@dataclass
class Supplied:
    """The market world, a second approved buyer and a department's catalog entry holding data."""

    world: MarketWorld
    other_id: int
    other: Actor
    source: int  # the entry's id


def supplied(rt: Runtime, make_user: object, make_department: object, code: str, info: list[dict[str, Any]],
             table: Any) -> Supplied:
    """:func:`market_world`, enterprise 5 (``buyer2``) approved as a buyer, and entry ``code`` (``info``) of
    省市场监管局 holding ``table`` as its first version."""
    from support.sharing import entry, store

    world = market_world(rt, make_user)
    dept = make_department("省市场监管局")  # type: ignore[operator]
    other_id, other = enterprise(rt, 5, "buyer2", "buyer", operator=world.operator)
    with rt.transaction() as s:
        resource = entry(code, "企业经营信息", dept, info)
        s.add(resource)
        s.flush()
        store(s, rt.settings, resource, table)
        return Supplied(world, other_id, other, resource.id)
