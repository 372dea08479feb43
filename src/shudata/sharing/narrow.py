"""A consumer's own filter and sort, applied to the values *as delivered* (masked).

Anything a caller can observe — rows, ``total``, order, errors, timings — may depend on a
raw value only if the caller may read that column raw (architecture convention 16). A
consumer reads other departments' data only masked, so the ``filter`` and ``sort`` of a
delivery call run over the masked Parquet file of the grant (never over the lake version):
``filter=公民身份号码 LIKE '5132212_______6433'`` matches the delivered ``513221********6433``
and nothing else, whatever the ID number behind it is. The grant's own row filter is
different: the provider wrote it, so it stays on the raw values (:mod:`shudata.sharing.delivery`).

>>> n = narrowing("机构名称 LIKE '成都%'", "注册资本 desc, 机构名称", ["机构名称", "注册资本"])
>>> n.where
'"机构名称" LIKE \\'成都%\\''
>>> n.order
'"注册资本" DESC NULLS LAST, "机构名称" ASC NULLS LAST, "机构名称" ASC NULLS LAST, "注册资本" ASC NULLS LAST'
>>> narrowing(None, "年龄 up", ["年龄"])
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 排序 sort 的写法应为“信息项 [asc|desc]”，多个用逗号分隔：年龄 up
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

from shudata.core.errors import InvalidInput
from shudata.sharing.filters import validate_row_filter

MAX_SORT_KEYS = 8


@dataclass(frozen=True)
class Narrowing:
    """The caller's WHERE and ORDER BY, as SQL over the delivered columns (empty: none)."""

    where: str = ""
    order: str = ""

    @property
    def active(self) -> bool:
        return bool(self.where or self.order)

    def select(self, table: str) -> str:
        """``SELECT * FROM table [WHERE …] [ORDER BY …]``."""
        sql = f"SELECT * FROM {table}"
        if self.where:
            sql += f" WHERE {self.where}"
        if self.order:
            sql += f" ORDER BY {self.order}"
        return sql

    def count(self, table: str) -> str:
        return f"SELECT count(*) AS n FROM {table}" + (f" WHERE {self.where}" if self.where else "")


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def caller_filter(text: str, delivered: Sequence[str]) -> str:
    """The caller's filter, checked like a grant's filter but over the delivered columns only,
    with every column name quoted (a delivered name may be an SQL keyword)."""
    tree = validate_row_filter(text, delivered)

    def quote(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column):
            return exp.column(exp.to_identifier(node.name, quoted=True))
        return node

    return tree.transform(quote).sql("duckdb")


def caller_sort(text: str, delivered: Sequence[str]) -> list[str]:
    """``"a desc, b"`` → ``['"a" DESC NULLS LAST', '"b" ASC NULLS LAST']``, names checked."""
    keys: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        words = item.rsplit(None, 1)
        name, direction = (words[0], words[1].lower()) if len(words) == 2 and words[1].lower() in (
            "asc", "desc") else (item, "asc")
        if name not in delivered:
            if len(words) == 2 and words[0] in delivered:
                raise InvalidInput(f"排序 sort 的写法应为“信息项 [asc|desc]”，多个用逗号分隔：{item}",
                                   f"sort must be 'field [asc|desc]', comma-separated: {item}", code="bad_sort")
            raise InvalidInput(f"排序 sort 引用了不可用的信息项“{name}”（可用：{'、'.join(delivered)}）",
                               f"sort uses a field that is not delivered: {name}", code="bad_sort")
        keys.append(f"{quoted(name)} {direction.upper()} NULLS LAST")
    if len(keys) > MAX_SORT_KEYS:
        raise InvalidInput(f"排序 sort 最多 {MAX_SORT_KEYS} 个信息项", f"sort takes at most {MAX_SORT_KEYS} fields",
                           code="bad_sort")
    return keys


def narrowing(filter_text: str | None, sort_text: str | None, delivered: Sequence[str]) -> Narrowing:
    """The caller's filter and sort over ``delivered`` columns.

    A sort ends with every delivered column ascending, so rows that tie on the requested keys
    come in an order fixed by their delivered values alone (pages stay complete and repeatable,
    and the order of tied rows reveals nothing the rows do not show).
    """
    where = caller_filter(filter_text, delivered) if filter_text else ""
    keys = caller_sort(sort_text, delivered) if sort_text and sort_text.strip() else []
    if keys:
        keys += [f"{quoted(c)} ASC NULLS LAST" for c in delivered]
    return Narrowing(where=where, order=", ".join(keys))
