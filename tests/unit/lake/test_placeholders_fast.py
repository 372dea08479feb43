"""The placeholder pass (:func:`shudata.lake.ingest.missing.blank_placeholders`) screens values by
their length and end bytes before trimming and looking up the few that could be placeholders;
these properties hold it to a plain per-value reference: strip, ASCII lower-case, look up the
written forms of the tokens, and count every replaced value that was not already empty."""

from __future__ import annotations

import itertools

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shudata.lake.ingest.missing import (
    DEFAULT_MISSING_VALUES,
    WHITESPACE,
    blank_placeholders,
    token_set,
    written_forms,
)

_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def reference(values: list[str | None], tokens: frozenset[str]) -> tuple[list[str | None], int]:
    """One value at a time: whitespace-only or, stripped and ASCII lower-cased, a written form of
    a token → None; counted unless it was "" (or None) already."""
    forms = set(written_forms(tokens).to_pylist()) if tokens else set()
    out: list[str | None] = []
    n = 0
    for v in values:
        if v is not None and (not v.strip() or v.strip().translate(_LOWER) in forms):
            out.append(None)
            n += v != ""
        else:
            out.append(v)
    return out, n


def _case_and_width(token: str, flips: list[bool]) -> str:
    """``token`` with some characters upper-cased and some ASCII ones written full-width."""
    out = []
    for ch, flip in zip(token, flips + [False] * len(token), strict=False):
        wide = chr(ord(ch) + 0xFEE0) if flip and "!" <= ch <= "~" else ch
        out.append(wide.upper() if flip else wide)
    return "".join(out)


# Characters that share bytes with whitespace or with the placeholders' first and last bytes:
# U+200B (not whitespace, E2 80 8B), ‰ (E2 80 B0), 、。《 (E3 80 xx), ¡ (C2 A1), ᚁ (E1 9A 81),
# 无/空 neighbours, full-width letters, digits, the dash family.
TRICKY = "\u200b\u2030、。《》\u00a1\u1681无空暂（）旡穴ＮｎＡａ0-–—/\\#!()<>LlNnAa" + "成都市男女"
whitespace = st.text(st.sampled_from(WHITESPACE), max_size=3)
token_strategy = st.one_of(st.sampled_from(DEFAULT_MISSING_VALUES), st.text(st.sampled_from(TRICKY), min_size=1,
                                                                           max_size=4))


@st.composite
def cells(draw: st.DrawFn, tokens: list[str]) -> str | None:
    kind = draw(st.sampled_from(["none", "token", "text", "blank", "unicode"]))
    if kind == "none":
        return None
    if kind == "token" and tokens:
        word = _case_and_width(draw(st.sampled_from(tokens)), draw(st.lists(st.booleans(), max_size=8)))
    elif kind == "blank":
        word = ""
    elif kind == "unicode":
        word = draw(st.text(max_size=6))
    else:
        word = draw(st.text(st.sampled_from(TRICKY), max_size=6))
    return draw(whitespace) + word + draw(whitespace)


@st.composite
def cases(draw: st.DrawFn) -> tuple[frozenset[str], list[str | None], list[int], bool, int]:
    raw = draw(st.lists(token_strategy, max_size=6))
    values = draw(st.lists(cells(raw or list(DEFAULT_MISSING_VALUES)), max_size=40))
    cuts = sorted(draw(st.lists(st.integers(0, len(values)), max_size=3)))
    large = draw(st.booleans())
    lead = draw(st.integers(0, 3))  # a sliced array (non-zero offset) behind this many values
    return token_set(raw), values, cuts, large, lead


def _array(values: list[str | None], cuts: list[int], large: bool, lead: int) -> pa.Array | pa.ChunkedArray:
    kind = pa.large_string() if large else pa.string()
    if not cuts:
        return pa.array(["前缀 N/A"] * lead + values, kind)[lead:]
    bounds = [0, *cuts, len(values)]
    return pa.chunked_array([pa.array(["  "] * lead + values[a:b], kind)[lead:]
                             for a, b in itertools.pairwise(bounds)], kind)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
@example((token_set(None), ["N/A", " n/a ", "Ｎ／ａ", "\u3000无\u3000", "无限公司", "", None, "\u200b", "-1", "—"],
          [], False, 0))
@example((frozenset(), ["", " ", "N/A", None, "\u2003"], [3], True, 2))
def test_fast_pass_matches_the_reference(case: tuple[frozenset[str], list[str | None], list[int], bool, int]
                                         ) -> None:
    tokens, values, cuts, large, lead = case
    arr = _array(values, cuts, large, lead)
    got, n = blank_placeholders(arr, tokens)
    assert (got.to_pylist(), n) == reference(values, tokens)
    assert got.type == arr.type and type(got) is type(arr) and len(got) == len(arr)
    got.validate(full=True)
    assert pc.is_null(got).to_pylist() == [v is None for v in got.to_pylist()]
    if n == 0 and got.null_count == arr.null_count:
        assert got is arr  # nothing replaced: the same column back


def test_whitespace_is_what_pyarrow_trims() -> None:
    """The screen knows whitespace by its bytes: the list must be exactly what utf8_trim_whitespace
    removes (and what str.strip removes, which the reference uses), over every code point."""
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    trimmed = pc.utf8_trim_whitespace(pa.array([chr(c) for c in points]))
    by_arrow = {chr(points[i]) for i, t in enumerate(trimmed.to_pylist()) if t == ""}
    assert by_arrow == set(WHITESPACE) == {chr(c) for c in points if chr(c).isspace()}


def test_a_column_without_placeholders_comes_back_as_is() -> None:
    arr = pa.chunked_array([["成都市", "四川省成都市武侯区", "张三"], ["12.5", None, "无限公司"]])
    got, n = blank_placeholders(arr, token_set(None))
    assert got is arr and n == 0
