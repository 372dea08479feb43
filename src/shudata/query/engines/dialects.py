"""DuckDB SQL → Spark SQL with the same answers, or a refusal naming the construct.

Every job is written (or compiled) as DuckDB SQL; when it runs on Spark, sqlglot generates Spark
SQL from the same tree. Most constructs mean the same on both engines; some do not, and sqlglot
alone would run them with a different answer. :func:`to_spark` therefore

* rewrites what can be made identical: ``TRIM(x)`` (DuckDB trims every Unicode space, Spark only
  U+0020: the set is spelled out), the default NULL order of ``ORDER BY`` (sqlglot writes
  ``NULLS LAST`` where DuckDB's default differs from Spark's);
* refuses, before anything runs, what cannot (:func:`divergences`): collations (the order of
  Chinese text depends on them), regular expressions outside the subset RE2 (DuckDB) and
  ``java.util.regex`` (Spark) read alike, ``regexp_replace`` without DuckDB's ``'g'`` option
  (DuckDB replaces the first match, Spark every match), bit shifts (DuckDB refuses a shift past
  the type's width, Java wraps it), samples (each engine draws other rows), functions that only
  DuckDB has, and constructs sqlglot cannot express in Spark SQL.

Integer overflow is an error on both engines (Spark's ANSI mode is fixed on by the engine), never a
wrapped value.

>>> to_spark("SELECT TRIM(a) AS a FROM t ORDER BY a").startswith("SELECT TRIM(BOTH ' \\u00a0")
True
>>> to_spark("SELECT a FROM t ORDER BY a").endswith("ORDER BY a NULLS LAST")
True
>>> to_spark("SELECT a FROM t ORDER BY a COLLATE zh")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 该 SQL 无法在 Spark 上得到与 DuckDB 相同的结果：排序规则 zh（...
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlglot
from sqlglot import TokenType, exp
from sqlglot.dialects.spark import Spark
from sqlglot.errors import ErrorLevel, SqlglotError

from shudata.core.errors import InvalidInput
from shudata.query.engines.spark_functions import SPARK_FUNCTIONS

Tokenizer = Spark.tokenizer_class

# What DuckDB's TRIM(x) removes (Unicode Zs below U+10000); Spark's TRIM(x) removes only U+0020.
DUCKDB_TRIM_CHARS = " \u00a0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u202f\u205f\u3000"

# Functions sqlglot does not model (parsed as anonymous calls) that Spark has with DuckDB's meaning.
SAME_ANONYMOUS = frozenset({"COUNT_IF", "NULLIF", "SIGN", "ASCII", "REPEAT", "REVERSE", "INSTR", "LPAD", "RPAD",
                            "TRANSLATE"})

# Spark SQL syntax written like a call (not listed by SHOW FUNCTIONS).
SPARK_SYNTAX = frozenset({"try_cast", "cast", "extract", "overlay", "position", "substring", "trim", "exists", "in",
                          "values", "over", "filter", "interval", "rollup", "cube", "sets", "within", "struct"})

# The platform's own vectorised functions (keyed pseudonyms, SM4 …): registered on every engine.
PLATFORM_UDF = "SHUDATA_"

# Regular-expression syntax RE2 and java.util.regex read differently (or one of them refuses).
_REGEX_TRAPS: tuple[tuple[str, str, str], ...] = (
    (r"\\[sS]", r"\s（Java 含垂直制表符 U+000B，RE2 不含）", r"\s (Java includes U+000B, RE2 does not)"),
    (r"\\[bB]", r"\b 单词边界（两者对“单词字符”的定义不同）",
     r"\b word boundary (the engines define word characters differently)"),
    (r"\\[pP]", r"\p{…} 字符类（RE2 与 Java 的类名不同）", r"\p{…} classes (RE2 and Java name them differently)"),
    (r"\\[hHvVRXQEzZAGC]", "RE2 与 Java 含义不同的转义", "an escape RE2 and Java read differently"),
    (r"\[\[:", "POSIX 字符类 [[:…:]]（Java 把它读作普通字符集合）",
     "POSIX classes [[:…:]] (Java reads them as a plain set)"),
    (r"\(\?P?<", "命名分组（语法不同）", "named groups (different syntax)"),
    (r"\(\?[=!>]", "前瞻/原子分组（RE2 不支持）", "lookahead or atomic groups (RE2 has none)"),
    (r"[*+?}]\+", "占有量词（RE2 不支持）", "possessive quantifiers (RE2 has none)"),
    (r"\\[0-9]", "反向引用（RE2 不支持）", "back-references (RE2 has none)"),
    (r"\(\?[a-zA-Z]", "内联选项 (?…)（RE2 与 Java 的选项不同）", "inline flags (?…) (RE2 and Java differ)"),
)
_REGEX_FUNCS = (exp.RegexpLike, exp.RegexpILike, exp.RegexpExtract, exp.RegexpReplace, exp.RegexpSplit)


@dataclass(frozen=True)
class Divergence:
    """A construct whose Spark answer would differ from DuckDB's."""

    construct: str  # the SQL text of the construct
    zh: str
    en: str


def _regex_divergences(pattern: exp.Expr, node: exp.Expr) -> list[Divergence]:
    if not isinstance(pattern, exp.Literal) or not pattern.is_string:
        return [Divergence(node.sql("duckdb")[:120], "正则表达式不是字符串常量，无法在执行前确认两种引擎读法相同",
                           "the regular expression is not a string literal, so it cannot be checked before running")]
    text = pattern.this
    out = [Divergence(f"'{text}'", f"正则表达式中的 {zh}", f"{en} in a regular expression")
           for trap, zh, en in _REGEX_TRAPS if re.search(trap, text)]
    if java_regex(text) is None:
        out.append(Divergence(f"'{text}'", "正则表达式中间的 $（Java 在行尾换行前也匹配）",
                              "$ before the end of a regular expression (Java also matches before a line break)"))
    return out


def java_regex(text: str) -> str | None:
    """The RE2 pattern ``text`` for java.util.regex with the same matches, or ``None``.

    ``(?d)`` makes ``\\n`` Java's only line terminator (as in RE2: ``.`` then matches ``\\r``,
    U+0085, U+2028 as RE2 does), and a final ``$`` becomes ``\\z`` (RE2's ``$`` is the end of the
    text; Java's also matches before a final line break). A ``$`` elsewhere: ``None``.

    >>> java_regex("^[0-9]{6}$")
    '(?d)^[0-9]{6}\\\\z'
    >>> java_regex("a$|b") is None, java_regex("[$]x\\\\$")
    (True, '(?d)[$]x\\\\$')
    """
    in_class, escaped, ends = False, False, []
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "$":
            ends.append(i)
    if any(i != len(text) - 1 for i in ends):
        return None
    return "(?d)" + (text[:-1] + "\\z" if ends else text)


def divergences(tree: exp.Expr, udfs: Iterable[str] = ()) -> list[Divergence]:
    """The constructs of ``tree`` (DuckDB SQL) that Spark cannot run with the same answer.

    >>> [d.zh for d in divergences(sqlglot.parse_one("SELECT regexp_replace(a, 'x', 'y') FROM t", read="duckdb"))]
    ["regexp_replace 未加 DuckDB 的 'g' 选项：DuckDB 只替换第一处，Spark 替换全部"]
    >>> divergences(sqlglot.parse_one("SELECT regexp_replace(a, '[0-9]+', '#', 'g') FROM t", read="duckdb"))
    []
    """
    known = {u.upper() for u in udfs}
    out: list[Divergence] = []
    for node in tree.walk():
        if isinstance(node, exp.Collate):
            out.append(Divergence(node.sql("duckdb"), f"排序规则 {node.expression.sql('duckdb')}"
                                  "（中文等文本的排序与比较依赖排序规则，Spark 的排序规则与 DuckDB 不同）",
                                  "a collation (the order of Chinese text depends on it; Spark's collations are not "
                                  "DuckDB's)"))
        elif isinstance(node, exp.RegexpReplace):
            modifiers = node.args.get("modifiers")
            flags = modifiers.name if isinstance(modifiers, exp.Literal) else None
            if flags != "g":
                out.append(Divergence(node.sql("duckdb")[:120],
                                      "regexp_replace 未加 DuckDB 的 'g' 选项：DuckDB 只替换第一处，Spark 替换全部"
                                      if flags is None else f"regexp_replace 的选项 '{flags}'（Spark 不支持）",
                                      "regexp_replace without DuckDB's 'g' option replaces the first match on "
                                      "DuckDB and every match on Spark" if flags is None else
                                      f"regexp_replace option {flags!r} (Spark has none)"))
            repl = node.args.get("replacement")
            if isinstance(repl, exp.Literal) and re.search(r"[\\$]", repl.this):
                out.append(Divergence(f"'{repl.this}'", "替换文本中的反向引用（DuckDB 写作 \\1，Spark 写作 $1）",
                                      "back-references in the replacement (\\1 on DuckDB, $1 on Spark)"))
            out.extend(_regex_divergences(node.expression, node))
        elif isinstance(node, _REGEX_FUNCS):
            out.extend(_regex_divergences(node.expression, node))
        elif isinstance(node, exp.BitwiseLeftShift | exp.BitwiseRightShift):
            out.append(Divergence(node.sql("duckdb"),
                                  "位移运算（超出整数位宽时 DuckDB 报错，Spark 按位宽取模，结果不同）",
                                  "a bit shift (past the integer's width DuckDB fails, Spark wraps around)"))
        elif (isinstance(node, exp.Table) and isinstance(node.this, exp.Func)) or \
                (isinstance(node, exp.Unnest) and isinstance(node.parent, exp.From | exp.Join)):
            out.append(Divergence(node.sql("duckdb")[:120], "表函数 range/generate_series/unnest（Spark 生成的列名与行"
                                  "不同）", "a table function range/generate_series/unnest (Spark names and makes its "
                                  "rows differently)"))
        elif isinstance(node, exp.TableSample):
            out.append(Divergence(node.sql("duckdb"), "抽样 SAMPLE/TABLESAMPLE（两种引擎抽到的行不同）",
                                  "a sample (each engine draws other rows)"))
        elif isinstance(node, exp.Anonymous):
            name = str(node.name).upper()
            if name not in known and name not in SAME_ANONYMOUS and not name.startswith(PLATFORM_UDF):
                out.append(Divergence(node.sql("duckdb")[:120],
                                      f"函数 {name}（DuckDB 专有，Spark SQL 中没有相同的实现）",
                                      f"the function {name} (DuckDB only; Spark SQL has no identical one)"))
    return out


def refuse(found: list[Divergence]) -> None:
    """Raise :class:`InvalidInput` (422 ``spark_divergent``) naming every construct in ``found``."""
    if not found:
        return
    zh = "；".join(f"{d.zh}：{d.construct}" for d in found)
    en = "; ".join(f"{d.en}: {d.construct}" for d in found)
    raise InvalidInput(f"该 SQL 无法在 Spark 上得到与 DuckDB 相同的结果：{zh}；"
                       "请改写这些部分，或让该资源留在 DuckDB 上执行",
                       f"This SQL would not give DuckDB's answer on Spark: {en}; rewrite these parts or keep the "
                       "resource on DuckDB", code="spark_divergent",
                       details={"constructs": [d.construct for d in found]})


def same_trim(tree: exp.Expr) -> exp.Expr:
    """``TRIM(x)`` with DuckDB's set of spaces written out (Spark trims only U+0020)."""
    for node in tree.find_all(exp.Trim):
        if node.args.get("expression") is None and node.args.get("position") is None:
            node.set("expression", exp.Literal.string(DUCKDB_TRIM_CHARS))
            node.set("position", "BOTH")
    return tree


def java_regexes(tree: exp.Expr) -> exp.Expr:
    """Every literal regular expression of ``tree`` rewritten by :func:`java_regex` (checked before)."""
    for node in list(tree.find_all(*_REGEX_FUNCS)):
        pattern = node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            java = java_regex(pattern.this)
            if java is not None:
                node.set("expression", exp.Literal.string(java))
    return tree


def to_spark(sql: str | exp.Expr, udfs: Iterable[str] = ()) -> str:
    """Spark SQL for the DuckDB SQL (or sqlglot tree) ``sql``: 422 ``spark_divergent`` naming each
    construct Spark would answer differently. ``udfs``: the functions the engine registers."""
    tree = sqlglot.parse_one(sql, read="duckdb") if isinstance(sql, str) else sql.copy()
    refuse(divergences(tree, udfs))
    try:
        out = java_regexes(same_trim(tree)).sql("spark", comments=False, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        refuse([Divergence(str(exc).splitlines()[0][:200], "Spark SQL 无法表达的写法", "a construct Spark SQL cannot "
                           "express")])
        raise  # pragma: no cover - refuse() raised
    refuse(unknown_functions(out, udfs))
    return out


def unknown_functions(spark_sql: str, udfs: Iterable[str] = ()) -> list[Divergence]:
    """Calls in ``spark_sql`` of functions Spark SQL does not have (a DuckDB function sqlglot
    passed through or renamed to a name Spark lacks): refused before running, by name.

    >>> [d.construct for d in unknown_functions("SELECT JAROWINKLER_SIMILARITY(a, b), UPPER(a), my_udf(a) FROM t")]
    ['JAROWINKLER_SIMILARITY', 'MY_UDF']
    """
    known = {u.lower() for u in udfs}
    tokens = Tokenizer().tokenize(spark_sql) if spark_sql else []
    found: dict[str, Divergence] = {}
    for prev, tok, nxt in zip([None, *tokens[:-1]], tokens, [*tokens[1:], None], strict=True):
        if tok.token_type != TokenType.VAR or nxt is None or nxt.token_type != TokenType.L_PAREN:
            continue
        if prev is not None and prev.token_type in (TokenType.ALIAS, TokenType.R_PAREN):
            continue  # a table alias with column names: ``range(3) AS r(i)``
        name = tok.text.lower()
        if name in SPARK_FUNCTIONS or name in SPARK_SYNTAX or name in known or name.upper().startswith(PLATFORM_UDF):
            continue
        found.setdefault(name, Divergence(tok.text.upper(), f"函数 {tok.text.upper()}（Spark SQL 中没有这个函数，"
                                          "DuckDB 专有）", f"the function {tok.text.upper()} (DuckDB only; Spark SQL "
                                          "has none)"))
    return list(found.values())


def for_engine(sql: str | exp.Expr, dialect: str, udfs: Iterable[str] = ()) -> str:
    """``sql`` (DuckDB SQL or a tree) in ``dialect``: unchanged for DuckDB, checked for Spark."""
    if dialect == "spark":
        return to_spark(sql, udfs)
    if isinstance(sql, str):
        return sql if dialect == "duckdb" else sqlglot.transpile(sql, read="duckdb", write=dialect)[0]
    return sql.sql(dialect, comments=False)
