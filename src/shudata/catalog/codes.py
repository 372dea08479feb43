"""Resource codes per the national catalog guideline: 类(1)+项(2)+目(3)[+细目] "/" 顺序号.

The prefix before the slash is the category code; the sequence number is allocated per
prefix, zero-padded to six digits. Allocation reads the highest code of the prefix and
inserts the next one inside a savepoint; the unique constraint on ``code`` turns a race
into an ``IntegrityError`` and the caller retries with the next number.

>>> parse_code("101001/000123")
CodeParts(lei='1', xiang='01', mu='001', ximu='', seq=123)
>>> format_code("101001", 7)
'101001/000007'
>>> next_sequence(["101001/000001", "101001/000009"])
10
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import RESOURCE_CODE_RE, Classification
from shudata.core.errors import Conflict, InvalidInput

T = TypeVar("T")
MAX_ATTEMPTS = 8

# 类 digit by classification when a steward gives no category code.
DEFAULT_CATEGORY = {Classification.BASE: "100000", Classification.THEME: "200000",
                    Classification.DEPARTMENT: "300000"}


class CodeParts(NamedTuple):
    lei: str
    xiang: str
    mu: str
    ximu: str
    seq: int

    @property
    def prefix(self) -> str:
        return f"{self.lei}{self.xiang}{self.mu}{self.ximu}"


def parse_code(code: str) -> CodeParts:
    """Split a resource code; ``InvalidInput`` when it is not in the guideline's form."""
    m = RESOURCE_CODE_RE.match(code.strip())
    if m is None:
        raise InvalidInput(f"资源代码“{code}”格式不对，应为 类(1位)项(2位)目(3位)[细目]/顺序号，如 101001/000123",
                           f"Resource code {code!r} should look like 101001/000123", code="invalid_code")
    return CodeParts(m["lei"], m["xiang"], m["mu"], m["ximu"], int(m["seq"]))


def format_code(prefix: str, seq: int) -> str:
    return f"{prefix}/{seq:06d}"


def next_sequence(codes: Iterable[str]) -> int:
    """One more than the highest sequence number among ``codes`` (1 for none)."""
    return max((int(c.rsplit("/", 1)[1]) for c in codes), default=0) + 1


def highest_code(session: Session, prefix: str) -> str | None:
    stmt = (select(CatalogResource.code).where(CatalogResource.code.like(f"{prefix}/%"))
            .order_by(CatalogResource.code.desc()).limit(1))
    return session.scalar(stmt)


def allocate(session: Session, prefix: str, insert: Callable[[str], T]) -> T:
    """Call ``insert(code)`` with the next free code of ``prefix`` inside a savepoint,
    retrying on a unique-constraint race. Returns what ``insert`` returns."""
    for _ in range(MAX_ATTEMPTS):
        top = highest_code(session, prefix)
        code = format_code(prefix, next_sequence([top] if top else []))
        try:
            with session.begin_nested():
                return insert(code)
        except IntegrityError:
            continue
    raise Conflict(f"分类 {prefix} 的资源代码分配冲突，请重试", f"Code allocation for {prefix} kept colliding; retry",
                   code="code_allocation_collided")
