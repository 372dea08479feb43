"""A small market world for the market tests: the exchange operator, a regulator, a seller and a
buyer enterprise (each with its first account), all approved, and a data steward's department."""

from __future__ import annotations

from dataclasses import dataclass

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
