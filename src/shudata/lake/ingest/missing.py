"""Missing-value placeholders (N/A, NULL, 无, 空, -, —, / …) read as missing (NULL) on ingest.

Every reader that produces text cells (CSV, XLS, XLSX, JSON) passes its columns through
:func:`blank_placeholders` after section rows are dropped and *before* typing, so a numeric
column holding ``N/A`` becomes numeric. Values compare after trimming (Unicode whitespace,
U+3000 included), NFKC (full-width ``Ｎ／Ａ`` is ``N/A``) and case folding (``NULL``,
``null`` and ``Null`` are one token); a value must be the token as a whole (``无`` is
missing, ``无限公司`` is not). Blank and whitespace-only cells are always missing.

The list comes from the upload's options (``IngestOptions.missing_values``): the ingest job
and the preview set the entry's saved list (:mod:`shudata.quality.cleaning_missing`) or the
``ingest_missing_values`` setting (default :data:`DEFAULT_MISSING_VALUES`); left unset, the
readers make no placeholder pass (CSV then keeps pyarrow's own null strings, as before).
Parquet files are typed and keep their own nulls.

>>> values = pa.array(["12", " N/A ", "Ｎ／Ａ", "无", "无限公司", None, "　"])
>>> arr, n = blank_placeholders(values, token_set(["N/A", "无"]))
>>> arr.to_pylist(), n
(['12', None, None, None, '无限公司', None, None], 4)
"""

from __future__ import annotations

import functools
import itertools
import math
import unicodedata
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from shudata.core.config import MISSING_VALUES_DEFAULT

DEFAULT_MISSING_VALUES: tuple[str, ...] = MISSING_VALUES_DEFAULT  # the setting ingest_missing_values
# Not in the list on purpose: 未知 and 不详 are codes of national code lists (GB/T 2261.1 性别
# 0 未知的性别), 0 is a value. An entry adds them to its own list when they mean "missing" there.


def normalize_token(value: str) -> str:
    """The form values and tokens are compared in: trimmed, NFKC, case-folded.

    >>> normalize_token("　ＮＵＬＬ "), normalize_token("——")
    ('null', '——')
    """
    return unicodedata.normalize("NFKC", value).strip().casefold()


def token_set(values: Iterable[str] | None) -> frozenset[str]:
    """Normalised tokens (``None`` = the built-in defaults); blanks are always missing anyway.

    >>> sorted(token_set(["N/A", "n/a", " - ", ""]))
    ['-', 'n/a']
    """
    source = DEFAULT_MISSING_VALUES if values is None else values
    return frozenset(t for t in (normalize_token(str(v)) for v in source) if t)


def parse_token_list(raw: str) -> list[str]:
    """Tokens typed into a form: one a line, or separated by commas (ASCII or full-width) or 、.

    >>> parse_token_list("N/A, -\\n无，空、 ")
    ['N/A', '-', '无', '空']
    """
    for sep in ("\r", "\n", "，", "、"):
        raw = raw.replace(sep, ",")
    out: list[str] = []
    for part in raw.split(","):
        t = part.strip()
        if t and t not in out:
            out.append(t)
    return out


def _forms(ch: str) -> tuple[str, ...]:
    """How one character of a normalised token may be written: half- or full-width, and a
    full-width letter in either case (ASCII letters are lower-cased before comparing)."""
    if not ("!" <= ch <= "~"):
        return (ch,)
    full = chr(ord(ch) + 0xFEE0)
    return (ch, full, full.upper()) if ch.isalpha() else (ch, full)


@functools.lru_cache(maxsize=64)
def written_forms(tokens: frozenset[str]) -> pa.Array:
    """Every way the tokens may be written once trimmed and ASCII-lower-cased, so one hash lookup
    replaces NFKC and Unicode case folding per value (they cost ~10x more on big columns).

    >>> forms = written_forms(frozenset({"n/a"})).to_pylist()
    >>> len(forms), all(f in forms for f in ("n/a", "Ｎ／Ａ", "n／a", "ｎ/ａ"))
    (18, True)
    """
    out: set[str] = set()
    for t in tokens:
        forms = [_forms(c) for c in t]
        if math.prod(len(f) for f in forms) > 1024:  # a long token: all half-width or all full-width only
            out.update({t, "".join(f[1] if len(f) > 1 else f[0] for f in forms),
                        "".join(f[-1] for f in forms)})
            continue
        out.update("".join(p) for p in itertools.product(*forms))
    return pa.array(sorted(out), pa.string())


def _is_text(arr: pa.Array | pa.ChunkedArray) -> bool:
    return pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)


def blank_placeholders(arr: pa.Array | pa.ChunkedArray, tokens: frozenset[str]
                       ) -> tuple[pa.Array | pa.ChunkedArray, int]:
    """``arr`` with placeholders and whitespace-only values as NULL, and how many were replaced
    (empty strings and NULLs are not counted: they were missing already). Vectorised: a trim,
    an ASCII lower-casing and one hash lookup per value, no per-row Python. Non-text arrays
    come back unchanged (a float NaN is handled by :func:`blank_nan`)."""
    if not _is_text(arr) or len(arr) == 0:
        return arr, 0
    trimmed = pc.utf8_trim_whitespace(arr)
    hit = pc.equal(trimmed, "")
    if tokens:
        hit = pc.or_(hit, pc.is_in(pc.ascii_lower(trimmed), value_set=written_forms(tokens)))
    hit = pc.fill_null(hit, False)
    if not pc.any(hit).as_py():
        return arr, 0
    counted = pc.and_(hit, pc.fill_null(pc.not_equal(arr, ""), False))
    n = int(pc.sum(counted).as_py() or 0)
    return pc.if_else(hit, pa.scalar(None, arr.type), arr), n


def blank_nan(arr: pa.Array | pa.ChunkedArray, tokens: frozenset[str]) -> tuple[pa.Array | pa.ChunkedArray, int]:
    """A float column parsed straight from CSV turns the text ``nan`` into NaN: NULL when ``nan``
    is a token (it was written as a placeholder).

    >>> blank_nan(pa.array([1.5, float("nan"), None]), frozenset({"nan"}))[0].to_pylist()
    [1.5, None, None]
    """
    if "nan" not in tokens or not pa.types.is_floating(arr.type):
        return arr, 0
    nan = pc.fill_null(pc.is_nan(arr), False)
    n = int(pc.sum(nan).as_py() or 0)
    return (pc.if_else(nan, pa.scalar(None, arr.type), arr), n) if n else (arr, 0)


def clean_rows(rows: list[list[str | None]], tokens: frozenset[str] | None) -> list[list[str | None]]:
    """Sample rows (for type inference and the column check) with placeholders as ``None``
    (unchanged when ``tokens`` is ``None``: no placeholder pass).

    >>> clean_rows([["成都", "N/A", "1"]], token_set(None))
    [['成都', None, '1']]
    """
    if tokens is None:
        return rows
    return [[None if c is None or normalize_token(str(c)) in tokens or not str(c).strip() else c for c in r]
            for r in rows]
