"""Rule-based early warnings (预警规则) on indicator values: levels, changes (同比 / 环比) and rank moves.

Rules are declarative documents (a department writes them as JSON or YAML); ``evaluate`` checks them
against a long-form table and returns one ``Warning`` per breach, with a Chinese and an English message.

>>> from shudata.analysis.formulas import long_table
>>> t = long_table("居民消费价格指数", "上年同月=100", "510000", [("2020-01", 105.7), ("2020-02", 106.9)],
...                region="四川省")
>>> rule = LevelRule(indicator="居民消费价格指数", op=">", value=106)
>>> [w.message_zh for w in evaluate([rule], t)]
['四川省 居民消费价格指数 2020-02 为 106.9上年同月=100，高于预警线 106']
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from shudata.analysis import formulas

Op = Literal[">", ">=", "<", "<="]
_OPS: dict[str, Callable[[float, float], bool]] = {">": operator.gt, ">=": operator.ge, "<": operator.lt,
                                                    "<=": operator.le}
_OP_ZH = {">": "高于", ">=": "不低于", "<": "低于", "<=": "不高于"}
_OP_EN = {">": "above", ">=": "at or above", "<": "below", "<=": "at or below"}


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    indicator: str
    region_code: str | None = None  # None: every region
    severity: Literal["提示", "警告", "严重"] = "警告"
    latest_only: bool = True  # only the newest period of each series (what arrived with the new version)


class LevelRule(_Rule):
    kind: Literal["level"] = "level"
    op: Op
    value: float


class ChangeRule(_Rule):
    kind: Literal["change"] = "change"
    basis: Literal["同比", "环比"] = "同比"
    op: Op
    value: float = Field(description="percentage points of growth, e.g. -5 for a fall of more than 5 %")


class RankRule(_Rule):
    kind: Literal["rank_move"] = "rank_move"
    places: int = Field(ge=1, description="a move of at least this many places between two periods")
    direction: Literal["down", "up", "any"] = "down"


Rule = Annotated[LevelRule | ChangeRule | RankRule, Field(discriminator="kind")]


@dataclass(frozen=True)
class Warning:  # the domain word (预警); shadows the builtin only inside this module
    rule: str  # level | change | rank_move
    severity: str
    indicator: str
    region: str | None
    region_code: str | None
    period: str
    value: float
    message_zh: str
    message_en: str


def _select(table: pa.Table, rule: _Rule) -> pa.Table:
    t = table.filter(pa.compute.equal(table["indicator"], rule.indicator))
    if rule.region_code is not None:
        t = t.filter(pa.compute.equal(t["region_code"], rule.region_code))
    return t


def _latest(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    newest: dict[tuple[object, object], dict[str, object]] = {}
    for r in rows:
        key = (r["region_code"], r["site"])
        if key not in newest or str(r["period"]) > str(newest[key]["period"]):
            newest[key] = r
    return list(newest.values())


def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v) < 1e6 else f"{v:,.0f}"


def evaluate(rules: Sequence[LevelRule | ChangeRule | RankRule], table: pa.Table) -> list[Warning]:
    """Every breach of ``rules`` in ``table`` (long form), newest periods only unless a rule says otherwise."""
    out: list[Warning] = []
    for rule in rules:
        t = _select(table, rule)
        if t.num_rows == 0:
            continue
        if isinstance(rule, LevelRule):
            rows = t.to_pylist()
            label_zh, label_en = "", ""
        elif isinstance(rule, ChangeRule):
            rows = (formulas.yoy(t) if rule.basis == "同比" else formulas.mom(t)).to_pylist()
            label_zh = f"{rule.basis}增长"
            label_en = "year on year" if rule.basis == "同比" else "on the previous period"
        else:
            out += _rank_moves(rule, table)
            continue
        if rule.latest_only:
            rows = _latest(rows)
        for r in rows:
            v = r["value"]
            if not isinstance(v, float) or not _OPS[rule.op](v, rule.value):
                continue
            where = r["region"] or r["region_code"] or "全国"
            unit = "%" if isinstance(rule, ChangeRule) else (r["unit"] or "")
            out.append(Warning(
                rule.kind, rule.severity, rule.indicator, r["region"], r["region_code"], str(r["period"]), v,
                f"{where} {rule.indicator}{label_zh} {r['period']} 为 {_fmt(v)}{unit}，{_OP_ZH[rule.op]}预警线 "
                f"{_fmt(rule.value)}",
                f"{where} {rule.indicator} {label_en} {r['period']}: {_fmt(v)}{unit}, {_OP_EN[rule.op]} the "
                f"threshold {_fmt(rule.value)}".replace("  ", " ")))
    return out


def _rank_moves(rule: RankRule, table: pa.Table) -> list[Warning]:
    t = table.filter(pa.compute.equal(table["indicator"], rule.indicator))
    ranks = formulas.rank(t).to_pylist()
    by_region: dict[object, list[dict[str, object]]] = {}
    for r in ranks:
        if r["value"] is not None:
            by_region.setdefault(r["region_code"], []).append(r)
    out = []
    for code, rows in by_region.items():
        if rule.region_code is not None and code != rule.region_code:
            continue
        rows.sort(key=lambda r: str(r["period"]))
        pairs = list(itertools.pairwise(rows))
        if rule.latest_only:
            pairs = pairs[-1:]
        for prev, cur in pairs:
            move = float(cur["value"]) - float(prev["value"])  # type: ignore[arg-type]  # positive: fell back
            down, up = move >= rule.places, -move >= rule.places
            if not ((rule.direction == "down" and down) or (rule.direction == "up" and up) or
                    (rule.direction == "any" and (down or up))):
                continue
            where = cur["region"] or code
            verb_zh, verb_en = ("下降", "fell") if move > 0 else ("上升", "rose")
            out.append(Warning(
                rule.kind, rule.severity, rule.indicator, cur["region"], code, str(cur["period"]),  # type: ignore[arg-type]
                float(cur["value"]),  # type: ignore[arg-type]
                f"{where} {rule.indicator} 位次由 {prev['period']} 的第 {int(prev['value'])} 位{verb_zh}到 "  # type: ignore[call-overload]
                f"{cur['period']} 的第 {int(cur['value'])} 位",  # type: ignore[call-overload]
                f"{where} {rule.indicator} rank {verb_en} from {int(prev['value'])} ({prev['period']}) to "  # type: ignore[call-overload]
                f"{int(cur['value'])} ({cur['period']})"))  # type: ignore[call-overload]
    return out
