"""Indicator definitions (指标定义) and their dependency order.

An indicator is defined in one of three ways (a JSON document, ``AnalysisIndicator.definition``):

- ``group`` — a heading of the hierarchy (一级/二级 indicators such as 经济运行 → 投资); no values;
- ``sql`` — an aggregation in SQL over catalog resources, run through the SQL sandbox as the owner
  department (grants and masking apply as to any query of that department). The statement returns the
  columns ``period`` and ``value`` plus ``region_code`` or ``region`` (a name) and optionally ``site``;
- ``series`` — one indicator of the long form of a resource that declares an NBS / monitoring layout
  (:mod:`shudata.analysis.layouts`), optionally resampled (hourly readings → daily / monthly means);
- ``formula`` — a formula over other indicators (:mod:`shudata.analysis.formulas`): 同比 ``yoy``, 环比
  ``mom``, 累计 ``ytd``, 去累计 ``decumulate``, 人均 ``per_capita`` (X / a population indicator), 占比
  ``proportion`` (part / whole), ``share`` (of the regions' total), 指数化 ``index``, ``ratio``, ``rank``,
  ``resample``, ``growth``.

>>> d = parse_definition({"kind": "formula", "op": "per_capita", "inputs": ["GDP", "POP"], "factor": 10000})
>>> d.op, d.inputs
('per_capita', ['GDP', 'POP'])
>>> order({"A": set(), "B": {"A"}, "C": {"B", "A"}})
['A', 'B', 'C']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlglot import exp

from shudata.core.errors import Conflict, InvalidInput
from shudata.query.rules.parse import parse_one_statement

FORMULA_OPS = ("yoy", "mom", "growth", "ytd", "decumulate", "per_capita", "ratio", "proportion", "share", "index",
               "rank", "resample")
# how many inputs each formula takes
_ARITY = {"per_capita": 2, "ratio": 2, "proportion": 2}
FREQUENCIES = ("时", "日", "月", "季", "年")
REGION_LEVELS = ("全国", "省", "市州", "区县", "站点")
PUBLICATIONS = ("open", "share-conditional", "trade", "internal")


class _Def(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupDefinition(_Def):
    kind: Literal["group"] = "group"


class SqlDefinition(_Def):
    kind: Literal["sql"] = "sql"
    sql: str = Field(min_length=1, max_length=20_000,
                     description="一条只读 SELECT，返回 period、value 及 region_code 或 region（可含 site）")


class SeriesDefinition(_Def):
    kind: Literal["series"] = "series"
    resource: str = Field(description="声明了统计布局的目录资源代码")
    indicator: str = Field(description="长表中的指标名称（如 地区生产总值、PM2.5浓度）")
    region_code: str | None = Field(None, description="只取这一地区（GB/T 2260）")
    site: str | None = Field(None, description="只取这一监测点；空：所有监测点")
    resample: Literal["日", "月", "季", "年"] | None = Field(None, description="重采样到更低频率")
    how: Literal["mean", "sum", "max"] = "mean"


class FormulaDefinition(_Def):
    kind: Literal["formula"] = "formula"
    op: Literal["yoy", "mom", "growth", "ytd", "decumulate", "per_capita", "ratio", "proportion", "share",
                "index", "rank", "resample"]
    inputs: list[str] = Field(min_length=1, max_length=2, description="输入指标代码（人均、比值、占比为两个）")
    factor: float = Field(1.0, description="比值、人均的单位换算系数")
    base_period: str | None = Field(None, description="指数化的基期（如 2015）")
    to: Literal["日", "月", "季", "年"] | None = Field(None, description="重采样的目标频率")
    how: Literal["mean", "sum", "max"] = "mean"
    ascending: bool = False


Definition = Annotated[GroupDefinition | SqlDefinition | SeriesDefinition | FormulaDefinition,
                       Field(discriminator="kind")]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Definition)


def parse_definition(raw: Mapping[str, Any]) -> GroupDefinition | SqlDefinition | SeriesDefinition | FormulaDefinition:
    """The definition document, checked: 422 with what is wrong."""
    try:
        d = _ADAPTER.validate_python(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInput(f"指标定义无效：{where} {first.get('msg', '')}".strip(),
                           f"Invalid indicator definition: {where} {first.get('msg', '')}".strip(),
                           code="analysis_bad_definition", details={"errors": exc.errors(include_url=False)}) from None
    if isinstance(d, FormulaDefinition):
        want = _ARITY.get(d.op, 1)
        if len(d.inputs) != want:
            raise InvalidInput(f"公式 {d.op} 需要 {want} 个输入指标，给了 {len(d.inputs)} 个",
                               f"Formula {d.op} takes {want} input indicator(s), got {len(d.inputs)}",
                               code="analysis_bad_definition")
        if d.op == "index" and not d.base_period:
            raise InvalidInput("指数化需要基期 base_period", "index needs base_period", code="analysis_bad_definition")
        if d.op == "resample" and not d.to:
            raise InvalidInput("重采样需要目标频率 to", "resample needs to", code="analysis_bad_definition")
    return d


def sql_tables(sql: str) -> list[str]:
    """The table names an SQL definition reads (resource codes, aliases or names), in order."""
    tree = parse_one_statement(sql)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    out: list[str] = []
    for t in tree.find_all(exp.Table):
        name = t.name
        if name and name not in ctes and name not in out:
            out.append(name)
    return out


def order(deps: Mapping[str, set[str]]) -> list[str]:
    """The codes of ``deps`` (code -> codes it depends on) so that every indicator follows its inputs.

    A cycle is refused (409) naming the indicators on it; an input outside ``deps`` is ignored here
    (the caller checks that inputs exist)."""
    done: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(code: str, path: list[str]) -> None:
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            cycle = [*path[path.index(code):], code]
            raise Conflict(f"指标定义存在循环依赖：{' → '.join(cycle)}",
                           f"The indicator definitions depend on each other in a cycle: {' -> '.join(cycle)}",
                           code="analysis_cycle", details={"cycle": cycle})
        state[code] = 1
        for dep in sorted(deps.get(code, set())):
            if dep in deps:
                visit(dep, [*path, code])
        state[code] = 2
        done.append(code)

    for code in deps:
        visit(code, [])
    return done


def dependants(deps: Mapping[str, set[str]], changed: set[str]) -> set[str]:
    """``changed`` and every indicator that (transitively) depends on one of them."""
    users: dict[str, set[str]] = {}
    for code, ins in deps.items():
        for i in ins:
            users.setdefault(i, set()).add(code)
    out, todo = set(changed), list(changed)
    while todo:
        for u in users.get(todo.pop(), set()):
            if u not in out:
                out.add(u)
                todo.append(u)
    return out
