"""Column classification: header + a sample of values → entity, confidence and evidence.

Values are normalised and matched by Arrow (RE2) over the sample; only candidates that
matched a pattern go through a validator (check digits, dates, regions). Long free-text
columns are scanned for entities embedded in the text: by a recognizer's unanchored pattern,
or by its finder function (person names: jieba's tags checked against the surname table, on
at most :data:`FINDER_BUDGET_CHARS` characters of the sample, since tagging is slow).
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shudata.privacy.detect.base import ColumnFinding, PatternRecognizer, ScanReport
from shudata.privacy.detect.names import FINDERS
from shudata.privacy.detect.normalize import as_text, normalise
from shudata.privacy.detect.registry import RecognizerRegistry, default_registry
from shudata.privacy.detect.validators import VALIDATORS
from shudata.privacy.entities import ENTITIES, grade_label

REPORT_THRESHOLD = 0.5
FREE_TEXT_MIN_LEN = 12
REPEAT_SENSITIVE = frozenset({"person_name"})
NEGATIVE_HEADERS = ("编号", "序号", "流水", "订单", "单号", "批次", "金额", "数量", "serial", "order", "amount", "no")
FREE_TEXT_CONTEXT = 2  # characters of text around an embedded entity
FINDER_BUDGET_CHARS = 12_000  # characters of one column's sample given to a text finder (jieba: ~10-40k/s)
GPS_HEADERS = ("经度", "纬度", "lat", "lng", "lon", "longitude", "latitude", "jd", "wd")


def header_matches(header: str, words: tuple[str, ...]) -> bool:
    """Does the header contain a context word? ASCII words must be whole tokens.

    >>> header_matches("居民身份证号", ("身份证",)), header_matches("sfzh", ("sfzh",))
    (True, True)
    >>> header_matches("xmbh", ("xm",))
    False
    """
    h = header.strip().lower()
    tokens = set(re.split(r"[^a-z]+", h))
    for w in words:
        if w.isascii():
            if w in tokens:
                return True
        elif w in h:
            return True
    return False


def distinct_share(values: pa.Array) -> float:
    """Distinct values per value in the sample (names are mostly distinct; categories repeat)."""
    return len(pc.unique(values)) / max(len(values), 1)


def valid_count(rec: PatternRecognizer, values: pa.Array) -> int:
    if not rec.patterns:
        return 0  # a free-text-only recognizer
    mask = None
    for p in rec.patterns:
        m = pc.match_substring_regex(values, p)
        mask = m if mask is None else pc.or_(mask, m)
    cands = pc.filter(values, pc.fill_null(mask, False))
    if rec.validator is None:
        return len(cands)
    check = VALIDATORS[rec.validator]
    return sum(1 for v in cands.to_pylist() if check(v))


def score(ratio: float, header: bool) -> float:
    """Confidence from the share of valid values and whether the header matched.

    >>> score(1.0, True), score(0.0, True), score(0.1, False)
    (1.0, 0.3, 0.05)
    """
    if ratio >= 0.8:
        s = 0.85 + 0.05 * (ratio - 0.8) / 0.2 + (0.1 if header else 0.0)
    elif ratio >= 0.5:
        s = 0.6 + 0.2 * (ratio - 0.5) / 0.3 + (0.15 if header else 0.0)
    elif header and ratio >= 0.2:
        s = 0.5 + 0.3 * ratio
    else:
        s = ratio * 0.5 + (0.3 if header else 0.0)
    return round(min(1.0, s), 3)


def prepare(values: pa.Array) -> tuple[pa.Array, pa.Array, int]:
    text = pc.drop_null(as_text(values))
    text = pc.filter(text, pc.not_equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0))
    return normalise(text, strip=True), normalise(text, strip=False), len(text)


def classify_column(name: str, values: pa.Array | pa.ChunkedArray,
                    registry: RecognizerRegistry | None = None) -> ColumnFinding:
    """Classify one column from its header and a sample of its values."""
    reg = registry or default_registry()
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    stripped, kept, n = prepare(arr)
    if n == 0:
        return ColumnFinding(column=name, entity=None, confidence=0.0, evidence="列为空 / column is empty")
    best: tuple[float, PatternRecognizer, int, bool] | None = None
    for rec in reg.all():
        if not rec.patterns:
            continue
        header = header_matches(name, rec.context)
        if rec.needs_context and not header:
            continue
        valid = valid_count(rec, stripped if rec.strip_separators else kept)
        if rec.name in REPEAT_SENSITIVE and not header and distinct_share(kept) < 0.3:
            valid = 0  # a few repeated short words are categories, not names
        conf = score(valid / n, header)
        if not header and header_matches(name, NEGATIVE_HEADERS):
            conf = round(conf * 0.5, 3)  # 编号/流水号/订单号: serial numbers that happen to look valid
        if best is None or conf > best[0]:
            best = (conf, rec, valid, header)
    gps = _numeric_gps(name, arr, n)
    if gps is not None and (best is None or gps.confidence > best[0]):
        return gps
    if best is not None and best[0] >= REPORT_THRESHOLD:
        conf, rec, valid, header = best
        return _finding(name, rec.entity, conf, n, valid, header, rec)
    text = _free_text(name, kept, n, reg)
    if text is not None:
        return text
    return ColumnFinding(column=name, entity=None, confidence=round(best[0], 3) if best else 0.0,
                         evidence="未发现敏感信息 / nothing sensitive found", sampled=n)


def _finding(name: str, entity: str, conf: float, n: int, valid: int, header: bool,
             rec: PatternRecognizer) -> ColumnFinding:
    et = ENTITIES[entity]
    how = f"校验 {rec.validator}" if rec.validator else "格式"
    evidence = (f"{valid}/{n} 个样本值符合{et.zh}（{how}）；表头{'' if header else '未'}匹配"
                f" / {valid}/{n} sampled values are valid {et.en} ({rec.validator or 'pattern'}); "
                f"header {'matches' if header else 'does not match'}")
    return ColumnFinding(column=name, entity=entity, confidence=conf, evidence=evidence, sampled=n, matched=valid,
                         header_match=header, grade=et.grade, sensitive=et.sensitive)


def _numeric_gps(name: str, arr: pa.Array, n: int) -> ColumnFinding | None:
    if not header_matches(name, GPS_HEADERS):
        return None
    if not pa.types.is_floating(arr.type):
        try:
            arr = pc.cast(pc.utf8_trim_whitespace(as_text(arr)), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    vals = np.asarray(pc.drop_null(arr).to_numpy(zero_copy_only=False), dtype=float)
    if len(vals) == 0 or np.abs(vals).max() > 180:
        return None
    precise = float(np.mean(np.abs(vals * 1e3 - np.round(vals * 1e3)) > 1e-6))
    if precise < 0.5:
        return None
    et = ENTITIES["GPS_COORDINATE"]
    return ColumnFinding(column=name, entity="GPS_COORDINATE", confidence=score(precise, True),
                         evidence=f"表头为经纬度，{precise:.0%} 的值精确到千分之一度以下 / coordinate header with "
                                  f"precise values", sampled=n, matched=int(precise * n), header_match=True,
                         grade=et.grade, sensitive=et.sensitive)


def _free_text(name: str, kept: pa.Array, n: int, reg: RecognizerRegistry) -> ColumnFinding | None:
    mean_len = pc.mean(pc.utf8_length(kept)).as_py() or 0
    if mean_len < FREE_TEXT_MIN_LEN:
        return None
    best: tuple[float, int, int, PatternRecognizer] | None = None
    for rec in reg.all():
        if rec.text_pattern is None and rec.text_finder is None:
            continue
        values = kept if rec.text_finder is None else finder_sample(kept)
        count = len(embedded(rec, values))
        share = count / max(len(values), 1)
        if count and (best is None or share > best[0]):
            best = (share, count, len(values), rec)
    if best is None or (best[1] < 2 and best[2] > 10):
        return None
    share, count, seen, rec = best
    et = ENTITIES[rec.entity]
    return ColumnFinding(column=name, entity=rec.entity, confidence=round(min(1.0, 0.5 + 2.5 * share), 3),
                         evidence=f"自由文本：{count}/{seen} 个值中含有{et.zh} / free text: {count}/{seen} values "
                                  f"contain a valid {et.en}", sampled=seen, matched=count, free_text=True,
                         grade=et.grade, sensitive=et.sensitive)


def finder_sample(values: pa.Array) -> pa.Array:
    """The first values of the sample whose text fits :data:`FINDER_BUDGET_CHARS` (at least one)."""
    lengths = np.cumsum(pc.utf8_length(values).to_numpy(zero_copy_only=False))
    return values.slice(0, max(1, int(np.searchsorted(lengths, FINDER_BUDGET_CHARS, side="right"))))


def embedded(rec: PatternRecognizer, values: pa.Array) -> list[str]:
    """Valid ``rec`` entities found inside the (sampled) free-text values (one per value)."""
    check = VALIDATORS[rec.validator] if rec.validator else None
    found = []
    if rec.text_finder is not None:
        finder = FINDERS[rec.text_finder]
        for text in values.to_pylist():
            for cand in finder(text):
                if len(text.strip()) < len(cand) + FREE_TEXT_CONTEXT:
                    continue  # the whole value is the candidate: a column of values, not free text
                if check is None or check(cand):
                    found.append(cand)
                    break
        return found
    assert rec.text_pattern is not None
    bounded = f"(?:^|[^0-9A-Za-z])({rec.text_pattern})(?:$|[^0-9A-Za-z])"
    hits = pc.filter(values, pc.fill_null(pc.match_substring_regex(values, bounded), False))
    rx = re.compile(bounded.replace(r"\p{Han}", "\u4e00-\u9fff"))
    for text in hits.to_pylist():
        for m in rx.finditer(text):
            cand = m.group(1).upper() if rec.strip_separators else m.group(1)
            if len(text.strip()) < len(cand) + FREE_TEXT_CONTEXT:
                continue  # the whole value is the candidate: a column of values, not free text
            if check is None or check(cand):
                found.append(cand)
                break
    return found


def sample(table: pa.Table, size: int, seed: int = 0) -> pa.Table:
    """A seeded random sample of ``size`` rows (the whole table when smaller)."""
    if table.num_rows <= size:
        return table
    idx = np.sort(np.random.default_rng(seed).choice(table.num_rows, size=size, replace=False))
    return table.take(pa.array(idx))


def scan_table(table: pa.Table, *, source: str, rows: int | None = None, sample_rows: int = 2000,
               registry: RecognizerRegistry | None = None, lang: str = "zh-CN") -> ScanReport:
    """Classify every column of ``table`` (sampled) and propose a grade for the whole table."""
    reg = registry or default_registry()
    sampled = sample(table, sample_rows)
    findings = tuple(classify_column(c, sampled.column(c), reg) for c in sampled.column_names)
    grade = max((f.grade for f in findings if f.entity), default=1)
    return ScanReport(source=source, rows=rows if rows is not None else table.num_rows, sampled_rows=sampled.num_rows,
                      columns=findings, proposed_grade=grade, proposed_grade_label=grade_label(grade, lang),
                      sensitive_columns=tuple(f.column for f in findings if f.entity))
