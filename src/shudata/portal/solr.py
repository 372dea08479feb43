"""The Solr query subset CKAN clients send in ``package_search``'s ``q`` and ``fq``.

A query is parsed by `luqum <https://github.com/jurismarches/luqum>`_ (a Lucene query
parser, Apache-2.0) into its tree, which :func:`parse` turns into a small typed tree of our
own (:class:`Term`, :class:`Span`, :class:`Text`, :class:`All`, :class:`And`, :class:`Or`,
:class:`Not`) with every field and value checked; :func:`evaluate` then runs that tree over
the portal's in-process snapshot (:mod:`shudata.portal.index`) as numpy masks. Anything
outside the subset is refused with CKAN's *Search Query Error*.

Booleans: ``AND``, ``OR``, ``NOT``, ``-`` and ``+``, parentheses. Clauses separated only
by spaces must all hold (CKAN sends ``q.op=AND``), and bind more loosely than ``OR``/``AND``:
``organization:a OR organization:b -groups:x`` is ``(a OR b) AND NOT x`` — how CKAN
harvesters build their include/exclude filters. A query of negations only
(``-organization:x``) means everything else.

Fields (CKAN's Solr names → the portal): ``id``/``name``, ``organization``/``owner_org``,
``groups``, ``tags``, ``res_format``, ``license_id``, ``title`` (contains), ``text`` and
``notes`` (the full-text index), ``metadata_modified``/``metadata_created`` (dates, with
ranges and ``NOW`` date math), ``num_resources``/``num_tags`` (numbers), the portal's own
``open_class``, ``update_cycle``, ``format``, and CKAN's constant fields (``state:active``,
``dataset_type:dataset``, ``capacity:public``, ``private:false``, ``site_id:*``). Values:
words, quoted phrases, a trailing ``*`` (prefix) on name-like fields, ``field:*``, ``*:*``.

>>> parse("organization:a OR organization:b -groups:x", "fq")
And(parts=(Or(parts=(Term(field='organization', value='a', prefix=False), \
Term(field='organization', value='b', prefix=False))), Not(part=Term(field='groups', value='x', prefix=False))))
>>> parse("metadata_modified:[2024-01-01T00:00:00Z TO *]", "fq")
Span(field='metadata_modified', low=1704067200.0, high=inf, include_low=True, include_high=True)
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from luqum import tree as lq
from luqum.exceptions import ParseError
from luqum.parser import parser as _lucene

from shudata.core.errors import BadRequest
from shudata.portal.data import FORMAT_LABELS, FORMATS
from shudata.portal.index import Snapshot

MAX_CHARS = 1000
MAX_NODES = 200
MAX_DEPTH = 32

STRING_FIELDS = ("name", "organization", "groups", "tags", "res_format", "license_id", "open_class",
                 "update_cycle", "format")
DATE_FIELDS = ("metadata_modified", "metadata_created")
NUMBER_FIELDS = ("num_resources", "num_tags")
FIELDS = (*STRING_FIELDS, "title", "text", *DATE_FIELDS, *NUMBER_FIELDS)
ALIASES = {"id": "name", "owner_org": "organization", "theme": "groups", "tag": "tags", "notes": "text",
           "title_string": "title", "extras_open_class": "open_class", "extras_update_cycle": "update_cycle",
           "extras_theme": "groups"}
CONSTANTS = {"state": "active", "dataset_type": "dataset", "type": "dataset", "capacity": "public",
             "private": "false", "site_id": None}  # None: any value holds (one site)
PREFIXABLE = ("name", "organization", "groups", "tags", "res_format", "license_id")


# -- the typed tree ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    """``field:value`` on a string field (``prefix``: the value ended in ``*``; ``value=""``
    with ``prefix``: ``field:*``, any value)."""

    field: str
    value: str
    prefix: bool = False


@dataclass(frozen=True)
class Span:
    """A range (or an exact value: ``low == high``, both included) on a date or number field;
    dates are UTC epoch seconds."""

    field: str
    low: float
    high: float
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class Text:
    """Words or a phrase for the full-text index (``text:``, ``notes:`` or no field)."""

    value: str


@dataclass(frozen=True)
class Title:
    """``title:value``: the title contains ``value`` (case-insensitive)."""

    value: str


@dataclass(frozen=True)
class All:
    """``*:*``, or a constant field's own value."""


@dataclass(frozen=True)
class Nothing:
    """A constant field given another value (``state:deleted``): no dataset."""


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Term | Span | Text | Title | All | Nothing | And | Or | Not


def search_error(zh: str, en: str, param: str) -> BadRequest:
    """CKAN's *Search Query Error* (``search_query_error``, HTTP 400 as CKAN answers it)."""
    return BadRequest(f"{param} 无效：{zh}", f"Invalid {param}: {en}", code="search_query_error",
                      details={"action": "portal.api.package_search", "field": param})


# -- parsing -------------------------------------------------------------------------------------

_LOCK = threading.Lock()  # luqum's PLY parser keeps state while it parses: one parse at a time


def parse(text: str, param: str = "q") -> Node:
    """The typed tree of a ``q`` or ``fq`` (``param`` names it in errors).

    >>> parse('tags:"成都 交通" AND num_resources:[2 TO *]', "fq")
    And(parts=(Term(field='tags', value='成都 交通', prefix=False), \
Span(field='num_resources', low=2.0, high=inf, include_low=True, include_high=True)))
    >>> parse("*:*", "q"), parse("人口", "q")
    (All(), Text(value='人口'))
    """
    if len(text) > MAX_CHARS:
        raise search_error(f"过长（最多 {MAX_CHARS} 字）", f"too long ({MAX_CHARS} characters at most)", param)
    if "{!" in text or any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise search_error("不支持 Solr 本地参数（{!…}）或控制字符", "Solr local parameters ({!...}) and control "
                           "characters are not supported", param)
    with _LOCK:
        try:
            raw = _lucene.parse(text)
        except (ParseError, RecursionError, ArithmeticError, ValueError, TypeError, IndexError):
            # luqum's own errors, and those it lets through on odd input (a~. → decimal's InvalidOperation)
            raise search_error(f"无法解析“{text[:100]}”（检查括号、引号和 AND/OR/NOT 两侧是否都有条件）",
                               f"cannot parse {text[:100]!r} (check brackets, quotes and both sides of "
                               "AND/OR/NOT)", param) from None
    return _Converter(param).node(raw, "text", 0)


class _Converter:
    """luqum's tree → ours, checking every field and value."""

    def __init__(self, param: str) -> None:
        self.param, self.count = param, 0

    def refuse(self, zh: str, en: str) -> BadRequest:
        return search_error(zh, en, self.param)

    def node(self, raw: lq.Item, field: str, depth: int) -> Node:
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise self.refuse(f"条件过多或嵌套过深（最多 {MAX_NODES} 个、{MAX_DEPTH} 层）",
                              f"too many clauses or too deeply nested ({MAX_NODES} / {MAX_DEPTH} at most)")
        if isinstance(raw, _OPERATIONS):
            return self.clauses(_flatten(raw), field, depth)
        if isinstance(raw, lq.Not | lq.Prohibit):
            return Not(self.node(raw.a, field, depth + 1))
        if isinstance(raw, lq.Plus | lq.Group | lq.FieldGroup):
            return self.node(raw.children[0], field, depth + 1)
        if isinstance(raw, lq.SearchField):
            if field != "text":
                raise self.refuse(f"字段不能嵌套（{field}:{raw.name}:…）", f"nested fields ({field}:{raw.name}:...)")
            return self.field(raw, depth)
        if isinstance(raw, lq.Word | lq.Phrase):
            return self.value(field, raw)
        if isinstance(raw, lq.Range):
            return self.span(field, raw)
        kind = {lq.Fuzzy: "模糊匹配 ~ / fuzzy ~", lq.Proximity: "邻近匹配 ~ / proximity ~",
                lq.Boost: "权重 ^ / boost ^", lq.Regex: "正则表达式 /…/ / regular expressions"}.get(
                    type(raw), type(raw).__name__)
        raise self.refuse(f"不支持 {kind}（{str(raw)[:60]}）", f"{kind} is not supported ({str(raw)[:60]})")

    def clauses(self, seq: list[Any], field: str, depth: int) -> Node:
        """Operands and operators in the order written, grouped by our precedence: spaces
        (all must hold), then ``OR``, then ``AND`` (tightest)."""
        for op, kind in ((" ", And), ("OR", Or), ("AND", And)):
            if op in seq:
                parts: list[Node] = []
                cur: list[Any] = []
                for item in [*seq, op]:
                    if isinstance(item, str) and item == op:
                        parts.append(self.clauses(cur, field, depth))
                        cur = []
                    else:
                        cur.append(item)
                return kind(tuple(parts))
        return self.node(seq[0], field, depth + 1)

    def field(self, raw: lq.SearchField, depth: int) -> Node:
        name = str(raw.name)
        if name == "*":
            word = raw.expr
            if isinstance(word, lq.Word) and word.value == "*":
                return All()
            raise self.refuse("“*:”后只能是 *（*:*）", "'*:' must be followed by * (*:*)")
        name = ALIASES.get(name, name)
        if name in CONSTANTS:
            return self.constant(name, raw.expr)
        if name not in FIELDS:
            raise self.refuse(f"不支持按“{name}”查询（可用字段：{'、'.join(FIELDS)}）",
                              f"field {name!r} is not supported (use: {', '.join(FIELDS)})")
        return self.node(raw.expr, name, depth + 1)

    def constant(self, name: str, expr: lq.Item) -> Node:
        if not isinstance(expr, lq.Word | lq.Phrase):
            raise self.refuse(f"字段 {name} 只能取单个值", f"field {name} takes a single value")
        value, want = _unquote(expr), CONSTANTS[name]
        return All() if want is None or value in ("*", want) else Nothing()

    def value(self, field: str, raw: lq.Word | lq.Phrase) -> Node:
        phrase = isinstance(raw, lq.Phrase)
        value = _unquote(raw)
        if not phrase and value == "*":
            return Term(field, "", True) if field in STRING_FIELDS else All()
        if not phrase and _wild(value):
            if field in PREFIXABLE and value.endswith("*") and not _wild(value[:-1]):
                return Term(field, value[:-1], True)
            raise self.refuse(f"通配符只支持字段 {'、'.join(PREFIXABLE)} 末尾的 *（{value[:60]}）",
                              f"wildcards: only a trailing * on {', '.join(PREFIXABLE)} ({value[:60]})")
        if field in DATE_FIELDS:
            t = parse_date(value, self.param)
            return Span(field, t, t)
        if field in NUMBER_FIELDS:
            n = self.number(field, value)
            return Span(field, n, n)
        if field == "title":
            return Title(value)
        if field == "text":
            return Text(value)
        return Term(field, value)

    def span(self, field: str, raw: lq.Range) -> Node:
        if field not in DATE_FIELDS and field not in NUMBER_FIELDS:
            ranged = DATE_FIELDS + NUMBER_FIELDS
            raise self.refuse(f"范围查询只支持日期和数值字段（{'、'.join(ranged)}），不支持 {field}",
                              f"ranges work on date and number fields only ({', '.join(ranged)}), not {field}")
        ends = []
        for end, default in ((raw.low, -math.inf), (raw.high, math.inf)):
            value = _unquote(end) if isinstance(end, lq.Word | lq.Phrase) else str(end)
            if value == "*":
                ends.append(default)
            elif field in DATE_FIELDS:
                ends.append(parse_date(value, self.param))
            else:
                ends.append(self.number(field, value))
        return Span(field, ends[0], ends[1], bool(raw.include_low), bool(raw.include_high))

    def number(self, field: str, value: str) -> float:
        try:
            n = float(value)
        except ValueError:
            raise self.refuse(f"字段 {field} 应为数值，而不是“{value[:40]}”",
                              f"field {field} takes a number, not {value[:40]!r}") from None
        if math.isnan(n):
            raise self.refuse(f"字段 {field} 应为数值", f"field {field} takes a number")
        return n


_OPERATIONS = (lq.UnknownOperation, lq.AndOperation, lq.OrOperation)
_OPERATOR = {lq.UnknownOperation: " ", lq.AndOperation: "AND", lq.OrOperation: "OR"}


def _flatten(raw: lq.Item) -> list[Any]:
    """An operation as written: operands with ``" "``/``"AND"``/``"OR"`` between them.
    (luqum's grouping of spaces depends on the next token — ``a OR b -c`` comes back as
    ``a OR (b -c)`` but ``a OR b c`` as ``(a OR b) c`` — so it is regrouped by our rule.)"""
    if not isinstance(raw, _OPERATIONS):
        return [raw]
    out: list[Any] = []
    for i, child in enumerate(raw.children):
        if i:
            out.append(_OPERATOR[type(raw)])
        out.extend(_flatten(child))
    return out


def _unquote(raw: lq.Item) -> str:
    """A word or phrase's value with Lucene's backslash escapes undone.

    >>> _unquote(lq.Phrase('"a \\\\"b\\\\""')), _unquote(lq.Word('a\\\\:b'))
    ('a "b"', 'a:b')
    """
    text = str(raw.value)
    if isinstance(raw, lq.Phrase):
        text = text[1:-1]
    return re.sub(r"\\(.)", r"\1", text)


def _wild(value: str) -> bool:
    return "*" in value or "?" in value


# -- dates ---------------------------------------------------------------------------------------

_DATE = re.compile(r"^(?P<base>NOW|\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?)"
                   r"(?P<math>(?:[+-]\d+[A-Z]+|/[A-Z]+)*)$")
_STEP = re.compile(r"([+-]\d+|/)([A-Z]+)")
_UNITS = {"YEAR": "year", "YEARS": "year", "MONTH": "month", "MONTHS": "month", "DAY": "day", "DAYS": "day",
          "DATE": "day", "HOUR": "hour", "HOURS": "hour", "MINUTE": "minute", "MINUTES": "minute",
          "SECOND": "second", "SECONDS": "second"}


def parse_date(value: str, param: str = "fq", now: dt.datetime | None = None) -> float:
    """A Solr date (``2024-01-01T00:00:00Z``, with fractions, an offset, or date math on
    ``NOW``: ``NOW-7DAYS``, ``NOW/DAY``) as UTC epoch seconds.

    >>> parse_date("2024-01-01T00:00:00Z"), parse_date("2024-01-01T08:00:00.123456+08:00")
    (1704067200.0, 1704067200.123456)
    >>> parse_date("NOW-1DAY/DAY", now=dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC))
    1709164800.0
    """
    m = _DATE.match(value.strip().upper())
    if m is None:
        raise search_error(f"日期“{value[:40]}”格式不对（应如 2024-01-01T00:00:00Z 或 NOW-7DAYS）",
                           f"bad date {value[:40]!r} (use e.g. 2024-01-01T00:00:00Z or NOW-7DAYS)", param)
    base = m.group("base")
    if base == "NOW":
        t = now or dt.datetime.now(dt.UTC)
    else:
        try:
            t = dt.datetime.fromisoformat(base.replace("Z", "+00:00"))
        except ValueError:
            raise search_error(f"日期“{value[:40]}”不存在", f"no such date {value[:40]!r}", param) from None
        t = t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)
    try:
        for op, unit in _STEP.findall(m.group("math")):
            if unit not in _UNITS:
                raise ValueError(unit)
            t = _round(t, _UNITS[unit]) if op == "/" else _add(t, int(op), _UNITS[unit])
    except (ValueError, OverflowError):
        raise search_error(f"日期运算“{value[:40]}”无效", f"bad date math {value[:40]!r}", param) from None
    return t.timestamp()


def _add(t: dt.datetime, n: int, unit: str) -> dt.datetime:
    if unit in ("year", "month"):
        months = t.month - 1 + n * (12 if unit == "year" else 1)
        year, month = t.year + months // 12, months % 12 + 1
        return t.replace(year=year, month=month, day=min(t.day, calendar.monthrange(year, month)[1]))
    return t + dt.timedelta(**{unit + "s": n})


def _round(t: dt.datetime, unit: str) -> dt.datetime:
    keep = ("year", "month", "day", "hour", "minute", "second").index(unit)
    parts: dict[str, Any] = {"month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}
    return t.replace(microsecond=0, **{k: v for i, (k, v) in enumerate(parts.items()) if i + 1 > keep})


# -- evaluation over the snapshot ------------------------------------------------------------------

TextSearch = Callable[[str], np.ndarray]  # full-text words → rows matching them


def is_plain_text(node: Node) -> bool:
    """Whether a ``q`` is words only (CKAN's free-text search, ranked by relevance)."""
    return isinstance(node, Text) or (isinstance(node, And) and all(isinstance(p, Text) for p in node.parts))


def text_terms(node: Node) -> list[str]:
    """The full-text words a query asks for (not under a ``NOT``): what ranks its results."""
    if isinstance(node, Text):
        return [node.value]
    if isinstance(node, And | Or):
        return [t for p in node.parts for t in text_terms(p)]
    return []


def evaluate(node: Node, snap: Snapshot, text: TextSearch, group_of: Callable[[str], str],
             license_of: Callable[[str], str]) -> np.ndarray:
    """The rows of ``snap`` matching ``node`` (a boolean mask). ``text`` answers full-text
    words; ``group_of`` gives a theme's CKAN group name and ``license_of`` an open class's
    licence id."""
    return _Evaluator(snap, text, group_of, license_of).run(node)


class _Evaluator:
    def __init__(self, snap: Snapshot, text: TextSearch, group_of: Callable[[str], str],
                 license_of: Callable[[str], str]) -> None:
        self.snap, self.text, self.group_of, self.license_of = snap, text, group_of, license_of

    def run(self, node: Node) -> np.ndarray:
        n = self.snap.size
        if isinstance(node, All):
            return np.ones(n, dtype=bool)
        if isinstance(node, Nothing):
            return np.zeros(n, dtype=bool)
        if isinstance(node, And):
            out = np.ones(n, dtype=bool)
            for p in node.parts:
                out &= self.run(p)
            return out
        if isinstance(node, Or):
            out = np.zeros(n, dtype=bool)
            for p in node.parts:
                out |= self.run(p)
            return out
        if isinstance(node, Not):
            return ~self.run(node.part)
        if isinstance(node, Text):
            return self.text(node.value)
        if isinstance(node, Title):
            want = node.value.casefold()
            return np.fromiter((want in t.casefold() for t in self.snap.titles), dtype=bool, count=n)
        if isinstance(node, Span):
            return self.span(node)
        return self.term(node)

    def span(self, node: Span) -> np.ndarray:
        if node.field == "num_resources":
            values = np.full(self.snap.size, float(len(FORMATS)))
        elif node.field == "num_tags":
            values = self.snap.num_tags.astype(np.float64)
        else:
            values = self.snap.modified if node.field == "metadata_modified" else self.snap.created
        low = values >= node.low if node.include_low else values > node.low
        high = values <= node.high if node.include_high else values < node.high
        return np.asarray(low & high, dtype=bool)

    def term(self, node: Term) -> np.ndarray:
        snap = self.snap
        if node.field == "name":
            want = node.value.lower()
            return np.fromiter((s.startswith(want) if node.prefix else s == want for s in snap.names), dtype=bool,
                               count=snap.size)
        if node.field == "tags":
            tags = [t for t in snap.tags if (t.startswith(node.value) if node.prefix else t == node.value)]
            out = np.zeros(snap.size, dtype=bool)
            for t in tags:
                out[snap.tags[t]] = True
            return out
        if node.field == "res_format":
            labels = [FORMAT_LABELS[f].lower() for f in FORMATS]
            want = node.value.lower()
            found = any(x.startswith(want) if node.prefix else x == want for x in labels)
            return np.full(snap.size, found, dtype=bool)
        column, names = self._names(node.field)
        matched = [i for i, keys in enumerate(names) if any(_hit(k, node) for k in keys)]
        return np.isin(snap.codes[column], np.asarray(matched, dtype=np.int32))

    def _names(self, field: str) -> tuple[str, list[tuple[str, ...]]]:
        """The snapshot column behind a field and, per code, the names a value may give."""
        snap = self.snap
        if field == "organization":
            orgs = snap.organizations
            return "department", [(orgs[d][0], orgs[d][1], d) if d in orgs else (d,) for d in snap.values["department"]]
        if field == "groups":
            return "theme", [(self.group_of(t), t) for t in snap.values["theme"]]
        if field == "license_id":
            return "open_class", [(self.license_of(c),) for c in snap.values["open_class"]]
        return field, [(v,) for v in snap.values[field]]


def _hit(key: str, node: Term) -> bool:
    if node.prefix:
        return key.lower().startswith(node.value.lower())
    return key == node.value or (key.isascii() and key.lower() == node.value.lower())
