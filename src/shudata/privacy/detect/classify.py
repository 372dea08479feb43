"""Column classification: header + a sample of values → entity, confidence and evidence.

Values are normalised and matched by Arrow (RE2) over the sample; only candidates that
matched a pattern go through a validator (check digits, dates, regions). Long free-text
columns are scanned for entities embedded in the text: by a recognizer's unanchored pattern,
or by its finder function (person names: jieba's tags checked against the surname table, on
at most :data:`FINDER_BUDGET_CHARS` characters of the sample, since tagging is slow).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shudata.privacy.detect.base import ColumnFinding, PatternRecognizer, ScanReport
from shudata.privacy.detect.names import FINDERS
from shudata.privacy.detect.normalize import as_text, normalise
from shudata.privacy.detect.registry import RecognizerRegistry, default_registry
from shudata.privacy.detect.validators import ORG_SUFFIXES, VALIDATORS, organization, words
from shudata.privacy.entities import (
    CONTEXTUAL,
    ENTITIES,
    PERSON_ANCHORS,
    PERSON_HINTS,
    grade_label,
    personal_by_header,
)

REPORT_THRESHOLD = 0.5
FREE_TEXT_MIN_LEN = 12
SHORT_TEXT_MIN_LEN = 6  # short notes (请联系张伟先生) are searched for names next to a person word only
REPEAT_SENSITIVE = frozenset({"person_name"})
NEGATIVE_HEADERS = ("编号", "序号", "流水", "订单", "单号", "批次", "金额", "数量", "serial", "order", "amount", "no")
CATEGORY_HEADERS = ("类型", "类别", "性质", "种类", "层次", "级别", "等级", "type", "kind", "category", "class")
FREE_TEXT_CONTEXT = 2  # characters of text around an embedded entity
FINDER_BUDGET_CHARS = 12_000  # characters of one column's sample given to a text finder (jieba: ~10-40k/s)
GPS_HEADERS = ("经度", "纬度", "lat", "lng", "lon", "longitude", "latitude", "jd", "wd")
# Words next to a name in free text that say it is a person's (来电, 先生, 申请人 …); a few surname-like
# substrings in a business scope are not evidence.
PERSON_CONTEXT = words("""
先生 女士 同志 老师 师傅 医生 护士 来电 来访 反映 投诉 举报 称 表示 本人 之子 之女 之妻 之夫 家属
患者 病人 客户 申请人 联系人 经办人 负责人 户主 村民 居民 职工 学生 电话 手机 身份证 住址 签字 签名
诉称 某某 夫妇 一家 父亲 母亲 儿子 女儿 丈夫 妻子 咨询 办理 领取 告知
""")
NAME_CONTEXT_CHARS = 4  # how far from a name a context word may stand
TEXT_NAME_SHARE = 0.3  # share of values with names when no context word stands next to them
TEXT_CONTEXT_SHARE = 0.05  # share of values with a name next to a context word
EXAMPLES = 3  # masked examples of matching values kept as evidence
# A name followed (within the same run of Chinese) by an organisation suffix belongs to its name:
# 王建国五金经营部签订合同; a one-character suffix (店, 所, 行) only where the run ends (张伟到银行办理 is a person).
ORG_END = re.compile(r"^[\u4e00-\u9fff]{0,10}?(?:"
                     + "|".join(sorted((x for x in ORG_SUFFIXES if len(x) > 1), key=len, reverse=True))
                     + r")|^[\u4e00-\u9fff]{0,10}?[" + "".join(x for x in ORG_SUFFIXES if len(x) == 1)
                     + r"](?:$|[，。；、,;.\s（(）)])")


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


def valid_values(rec: PatternRecognizer, values: pa.Array) -> list[str]:
    """The values that match one of ``rec``'s patterns (Arrow, RE2) and pass its validator."""
    if not rec.patterns:
        return []  # a free-text-only recognizer
    mask = None
    for p in rec.patterns:
        m = pc.match_substring_regex(values, p)
        mask = m if mask is None else pc.or_(mask, m)
    cands: list[str] = pc.filter(values, pc.fill_null(mask, False)).to_pylist()
    if rec.validator is None:
        return cands
    check = VALIDATORS[rec.validator]
    return [v for v in cands if check(v)]


def valid_count(rec: PatternRecognizer, values: pa.Array) -> int:
    return len(valid_values(rec, values))


def mask_example(value: str) -> str:
    """A value shown as evidence without disclosing it: first and last character kept.

    >>> mask_example("13812345678"), mask_example("张伟")
    ('1*********8', '张*')
    """
    if len(value) <= 2:
        return value[:1] + "*" * (len(value) - 1)
    return value[0] + "*" * (len(value) - 2) + value[-1]


def _examples(values: list[str]) -> tuple[str, ...]:
    return tuple(mask_example(v) for v in dict.fromkeys(values))[:EXAMPLES]


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
    best: tuple[float, PatternRecognizer, list[str], bool] | None = None
    for rec in reg.all():
        if not rec.patterns:
            continue
        header = header_matches(name, rec.context)
        if rec.needs_context and not header:
            continue
        if rec.entity == "ORGANIZATION" and header_matches(name, CATEGORY_HEADERS):
            continue  # 企业类型: 有限责任公司, 个体工商户 are kinds of enterprise, not names
        valid = valid_values(rec, stripped if rec.strip_separators else kept)
        if rec.name in REPEAT_SENSITIVE and not header and distinct_share(kept) < 0.3:
            valid = []  # a few repeated short words are categories, not names
        conf = score(len(valid) / n, header)
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


def _finding(name: str, entity: str, conf: float, n: int, valid: list[str], header: bool,
             rec: PatternRecognizer) -> ColumnFinding:
    et = ENTITIES[entity]
    how = f"校验 {rec.validator}" if rec.validator else "格式"
    m = len(valid)
    evidence = (f"{m}/{n} 个样本值符合{et.zh}（{how}）；表头{'' if header else '未'}匹配"
                f" / {m}/{n} sampled values are valid {et.en} ({rec.validator or 'pattern'}); "
                f"header {'matches' if header else 'does not match'}")
    return ColumnFinding(column=name, entity=entity, confidence=conf, evidence=evidence, sampled=n, matched=m,
                         header_match=header, grade=et.grade, sensitive=et.sensitive, recognizer=rec.name,
                         share=round(m / n, 3), examples=_examples(valid))


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
                         grade=et.grade, sensitive=et.sensitive, recognizer="gps_numeric", share=round(precise, 3),
                         examples=_examples([f"{v:.6f}" for v in vals[:EXAMPLES]]))


def _texty(values: pa.Array) -> bool:
    """Is this text at all? Numbers with many digits (coordinates, amounts) are not free text."""
    letters = pc.match_substring_regex(values, r"[\p{Han}A-Za-z]")
    return (pc.sum(pc.cast(pc.fill_null(letters, False), pa.int64())).as_py() or 0) >= 0.5 * len(values)


def _free_text(name: str, kept: pa.Array, n: int, reg: RecognizerRegistry) -> ColumnFinding | None:
    mean_len = pc.mean(pc.utf8_length(kept)).as_py() or 0
    if mean_len < SHORT_TEXT_MIN_LEN or not _texty(kept):
        return None
    short = mean_len < FREE_TEXT_MIN_LEN
    best: tuple[float, int, int, PatternRecognizer, list[str], str] | None = None
    for rec in reg.all():
        if rec.text_pattern is None and rec.text_finder is None:
            continue
        if short and (rec.text_finder is None or not _has_person_words(kept)):
            continue  # short notes: only names next to a person word, and tagging only when such words occur
        if rec.text_finder is None:
            found, how = embedded(rec, kept), ""
            seen = len(kept)
            if len(found) < 2 and seen > 10:
                continue
        else:
            values = finder_sample(kept)
            seen = len(values)
            found, how = embedded_names(rec, values, context_only=short)
            if not found:
                continue
        share = len(found) / max(seen, 1)
        if found and (best is None or share > best[0]):
            best = (share, len(found), seen, rec, found, how)
    if best is None:
        return None
    share, count, seen, rec, found, how = best
    et = ENTITIES[rec.entity]
    return ColumnFinding(column=name, entity=rec.entity, confidence=round(min(1.0, 0.5 + 2.5 * share), 3),
                         evidence=f"自由文本：{count}/{seen} 个值中含有{et.zh}{how} / free text: {count}/{seen} values "
                                  f"contain a valid {et.en}", sampled=seen, matched=count, free_text=True,
                         grade=et.grade, sensitive=et.sensitive, recognizer=rec.name, share=round(share, 3),
                         examples=_examples(found))


def _has_person_words(values: pa.Array) -> bool:
    """Do at least 2 values hold a person word (来电, 先生 …)? Vectorised, before any tagging."""
    hits = pc.match_substring_regex(values, "|".join(PERSON_CONTEXT))
    return (pc.sum(pc.cast(pc.fill_null(hits, False), pa.int64())).as_py() or 0) >= 2


def _in_org_name(text: str, end: int) -> bool:
    """Does the name ending at ``end`` belong to an organisation's name (王建国五金经营部)?"""
    return ORG_END.match(text[end:]) is not None


def _near_context(text: str, start: int, end: int) -> bool:
    around = text[max(0, start - NAME_CONTEXT_CHARS):start] + "|" + text[end:end + NAME_CONTEXT_CHARS]
    return any(w in around for w in PERSON_CONTEXT)


def embedded_names(rec: PatternRecognizer, values: pa.Array, *, context_only: bool = False
                   ) -> tuple[list[str], str]:
    """Person names a finder sees in free text, kept only on strong evidence.

    A value that is itself an organisation name, and a name followed by an organisation
    suffix (王建国五金经营部), count for nothing. The column holds names when enough of its
    values have one next to a person word (来电, 先生, 申请人 …: :data:`TEXT_CONTEXT_SHARE`),
    or (unless ``context_only``, for short notes) when many values (:data:`TEXT_NAME_SHARE`) hold
    mostly different names.
    """
    if rec.text_finder is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("rec.text_finder is unexpectedly None")
    finder = FINDERS[rec.text_finder]
    check = VALIDATORS[rec.validator] if rec.validator else None
    plain: list[str] = []
    near: list[str] = []
    for text in values.to_pylist():
        if organization(text):
            continue
        hit = ctx = None
        pos = 0
        for cand in finder(text):
            start = text.find(cand, pos)
            if start < 0:
                continue
            end = pos = start + len(cand)
            if len(text.strip()) < len(cand) + FREE_TEXT_CONTEXT:
                continue  # the whole value: a column of values, not free text
            person_word = _near_context(text, start, end)
            if (check is not None and not check(cand)) or (not person_word and _in_org_name(text, end)):
                continue  # not a name, or inside a company's name (王建国五金经营部)
            hit = hit or cand
            if person_word:
                ctx = cand
                break
        if ctx is not None:
            near.append(ctx)
        elif hit is not None:
            plain.append(hit)
    seen = max(len(values), 1)
    if len(near) >= 2 and len(near) / seen >= TEXT_CONTEXT_SHARE:
        return near + plain, "（姓名旁有“来电、先生、申请人”等称谓）"
    every = near + plain
    many = len(every) >= 3 and len(every) / seen >= TEXT_NAME_SHARE and len(set(every)) >= 0.5 * len(every)
    if many and not context_only:
        return every, "（多数值含不同的姓名）"
    return [], ""


def finder_sample(values: pa.Array) -> pa.Array:
    """The first values of the sample whose text fits :data:`FINDER_BUDGET_CHARS` (at least one)."""
    lengths = np.cumsum(pc.utf8_length(values).to_numpy(zero_copy_only=False))
    return values.slice(0, max(1, int(np.searchsorted(lengths, FINDER_BUDGET_CHARS, side="right"))))


def embedded(rec: PatternRecognizer, values: pa.Array) -> list[str]:
    """Valid ``rec`` entities found inside the (sampled) free-text values (one per value)."""
    check = VALIDATORS[rec.validator] if rec.validator else None
    found: list[str] = []
    if rec.text_finder is not None:
        return embedded_names(rec, values)[0]
    if rec.text_pattern is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("rec.text_pattern is unexpectedly None")
    # a digit run after a decimal point is a fraction (30.583561887199998), not a number of its own
    bounded = f"(?:^|[^0-9A-Za-z.])({rec.text_pattern})(?:$|[^0-9A-Za-z])"
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
    findings = in_context(employers([classify_column(c, sampled.column(c), reg) for c in sampled.column_names],
                                    sampled))
    grade = max((f.grade for f in findings if f.entity), default=1)
    return ScanReport(source=source, rows=rows if rows is not None else table.num_rows, sampled_rows=sampled.num_rows,
                      columns=findings, proposed_grade=grade, proposed_grade_label=grade_label(grade, lang),
                      sensitive_columns=tuple(f.column for f in findings if f.entity and f.grade > 1))


def about_persons(entities: Iterable[str | None]) -> bool:
    """Is a table with columns of these entity types about natural persons?

    Yes when it holds an identifying personal column (ID number, bank card, date of birth …),
    or a person-name, mobile, e-mail or licence-plate column and no organisation-name column (a
    register of enterprises with their legal representative and contact mobile is about enterprises).

    >>> about_persons(["PERSON_NAME", "ADDRESS"]), about_persons(["ORGANIZATION", "PERSON_NAME", "ADDRESS"])
    (True, False)
    >>> about_persons(["CN_MOBILE", "ADDRESS"]), about_persons(["ORGANIZATION", "CN_RESIDENT_ID"])
    (True, True)
    >>> about_persons([None, "ADDRESS", "GPS_COORDINATE"])
    False
    """
    found = {e for e in entities if e}
    if found & PERSON_ANCHORS:
        return True
    return bool(found & PERSON_HINTS) and "ORGANIZATION" not in found


def _distinct_share(values: pa.ChunkedArray | pa.Array) -> float:
    present = pc.drop_null(values)
    return len(pc.unique(present)) / len(present) if len(present) else 1.0


def employers(findings: Sequence[ColumnFinding], table: pa.Table) -> list[ColumnFinding]:
    """Organisation names that are an attribute of persons, not the table's subject.

    An enterprise register names each enterprise once (its legal representative beside it); an
    employee, patient or pupil list repeats a few employers, hospitals or schools beside names that
    differ. In the second the rows are about persons: an organisation-name column whose values
    repeat (fewer than half distinct) next to a person-name, mobile, e-mail or plate column whose
    values mostly differ is reported as the persons' attribute (``entity: null``,
    ``not_personal: "ORGANIZATION"``), so the table's addresses stay personal.
    """
    hints = [f for f in findings if f.entity in PERSON_HINTS and not f.free_text and f.column in table.column_names]
    if not hints or max(_distinct_share(table.column(f.column)) for f in hints) < 0.5:
        return list(findings)
    return [_attribute(f) if (f.entity == "ORGANIZATION" and not f.free_text and f.column in table.column_names
                              and _distinct_share(table.column(f.column)) < 0.5) else f for f in findings]


def _attribute(f: ColumnFinding) -> ColumnFinding:
    return f.model_copy(update={
        "entity": None, "not_personal": "ORGANIZATION", "grade": 1, "sensitive": False,
        "evidence": f"{f.evidence}；机构名称反复出现、旁边的姓名各不相同：行是关于人的，机构是其属性（如工作单位）"
                    " / the organisation names repeat beside names that differ: the rows are about persons"
                    " and the organisation is their attribute (an employer)"})


def in_context(findings: list[ColumnFinding]) -> tuple[ColumnFinding, ...]:
    """Addresses, coordinates and landlines are personal only in a table about natural persons;
    elsewhere (scenic areas, schools, hospitals, stations) they are reported as not personal."""
    if about_persons(f.entity for f in findings if not f.free_text):
        return tuple(findings)
    return tuple(_not_personal(f) if f.entity in CONTEXTUAL and not f.free_text and not personal_by_header(f.column)
                 else f for f in findings)


def _not_personal(f: ColumnFinding) -> ColumnFinding:
    if f.entity is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("f.entity is unexpectedly None")
    et = ENTITIES[f.entity]
    return f.model_copy(update={
        "entity": None, "not_personal": f.entity, "grade": 1, "sensitive": False,
        "evidence": f"{f.evidence}；表中没有姓名、证件号等自然人列，视为机构或地点的{et.zh}，不属个人信息 / "
                    f"no column identifies a natural person: the {et.en} of an organisation or place, not personal"})
