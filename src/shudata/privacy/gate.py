"""The export gate: every path that lets data leave calls :func:`enforce`.

Given the data about to leave and its profile, the gate scans a sample of the output and
refuses — with the findings — when a detectable sensitive entity remains above the
profile's tolerance. Strong recognizers (check digits or strict formats) count every
valid value; weak ones (names, addresses, dates of birth…) count only when the column as a
whole classifies as that entity. Free-text columns are searched for embedded entities
(person names by jieba's tagging, on the part of the sample the finder's budget covers).
Columns masked by a format-preserving or synthetic operator are exempt by name (their
output is valid-looking by design), and the exemption is reported.

Addresses, coordinates and landlines are personal only in a table about natural persons
(:func:`~shudata.privacy.detect.classify.about_persons`): the caller says so from the source's
findings (``person_table``), else the output's columns decide. A column a steward overruled
(``overruled``: "not personal" or another entity) is no longer judged by weak recognizers, but
values that *validate* as resident ID numbers (check digit), mobile numbers or bank cards (Luhn)
still refuse the export: an overrule cannot let identifiers leave.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from shudata.core.errors import PermissionDenied
from shudata.privacy.detect.base import ColumnFinding
from shudata.privacy.detect.classify import (
    about_persons,
    classify_column,
    embedded,
    employers,
    prepare,
    sample,
    valid_count,
)
from shudata.privacy.detect.registry import RecognizerRegistry, default_registry
from shudata.privacy.entities import CONTEXTUAL, ENTITIES, personal_by_header
from shudata.privacy.profiles import PROFILES

STRONG = frozenset({"cn_resident_id", "cn_uscc", "bank_card", "cn_mobile", "email", "ipv4", "ipv6",
                    "cn_license_plate", "military_id", "gps"})
# Checked in every column, overruled or not.
ALWAYS = frozenset({"cn_resident_id", "cn_mobile", "bank_card"})


@dataclass(frozen=True)
class GateResult:
    """What the gate saw. ``passed`` is false when ``violations`` is not empty."""

    profile: str
    rows_scanned: int
    violations: tuple[ColumnFinding, ...]
    exempt: Mapping[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, object]:
        return {"profile": self.profile, "passed": self.passed, "rows_scanned": self.rows_scanned,
                "violations": [v.model_dump() for v in self.violations], "exempt": dict(self.exempt)}


class ExportRefused(PermissionDenied):
    """The gate found unmasked sensitive data in an export."""

    default_code = "export_refused"


def _column_violations(name: str, values: pa.Array, refuse_grade: int, tolerance: float,
                       reg: RecognizerRegistry, weak: ColumnFinding, *, person_table: bool,
                       overruled: bool) -> list[ColumnFinding]:
    stripped, kept, n = prepare(values)
    if n == 0:
        return []
    out: list[ColumnFinding] = []
    for rec in reg.all():
        et = ENTITIES[rec.entity]
        if et.grade < refuse_grade or (overruled and rec.name not in ALWAYS):
            continue
        if rec.entity in CONTEXTUAL and not person_table and not personal_by_header(name):
            continue  # the address or coordinates of a place, a school, a hospital
        seen = n
        if rec.name in STRONG:
            count = valid_count(rec, stripped if rec.strip_separators else kept)
            if rec.text_pattern is not None:
                count = max(count, len(embedded(rec, kept)))
        else:
            count = weak.matched if weak.entity == rec.entity and weak.confidence >= 0.5 else 0
            if count and weak.free_text:
                seen = max(weak.sampled, 1)  # a text finder looks at part of the sample only
        if count and count / seen > tolerance:
            out.append(ColumnFinding(column=name, entity=rec.entity, confidence=round(count / seen, 3),
                                     evidence=f"{count}/{seen} 个输出样本值仍可识别为{et.zh} / {count}/{seen} sampled "
                                              f"output values are still recognisable as {et.en}",
                                     sampled=seen, matched=count, grade=et.grade, sensitive=et.sensitive))
    return _dedupe(out)


def _dedupe(findings: list[ColumnFinding]) -> list[ColumnFinding]:
    best: dict[str, ColumnFinding] = {}
    for f in findings:
        if f.entity is None:  # an invariant, not input: a bug if it breaks
            raise RuntimeError("f.entity is unexpectedly None")
        if f.entity not in best or f.matched > best[f.entity].matched:
            best[f.entity] = f
    return list(best.values())


def check_export(data: pa.Table, *, profile: str, exempt: Mapping[str, str] | None = None,
                 sample_rows: int = 5000, registry: RecognizerRegistry | None = None,
                 person_table: bool | None = None, overruled: Collection[str] = ()) -> GateResult:
    """Scan ``data`` for what ``profile`` forbids; never raises for findings.

    ``person_table``: is the source about natural persons (None: judge from ``data``);
    ``overruled``: columns a steward reviewed (only validated identifiers are checked there).
    """
    prof = PROFILES[profile]
    reg = registry or default_registry()
    exempt = dict(exempt or {})
    sampled = sample(data, sample_rows, seed=1)
    names = [n for n in sampled.column_names if n not in exempt]
    weak = {n: classify_column(n, sampled.column(n).combine_chunks(), reg) for n in names}
    if person_table is None:
        judged = employers([f for n, f in weak.items() if n not in overruled], sampled)
        person_table = about_persons(f.entity for f in judged if not f.free_text)
    violations: list[ColumnFinding] = []
    for name in names:
        violations.extend(_column_violations(name, sampled.column(name).combine_chunks(), prof.refuse_grade,
                                             prof.tolerance, reg, weak[name], person_table=person_table,
                                             overruled=name in overruled))
    return GateResult(profile=profile, rows_scanned=sampled.num_rows, violations=tuple(violations), exempt=exempt)


def enforce(data: pa.Table, *, profile: str, exempt: Mapping[str, str] | None = None,
            sample_rows: int = 5000, person_table: bool | None = None,
            overruled: Collection[str] = ()) -> GateResult:
    """:func:`check_export`, raising :class:`ExportRefused` (403) with the findings on failure."""
    result = check_export(data, profile=profile, exempt=exempt, sample_rows=sample_rows, person_table=person_table,
                          overruled=overruled)
    if not result.passed:
        cols = "、".join(f"{v.column}（{ENTITIES[v.entity].zh if v.entity else ''}）" for v in result.violations)
        raise ExportRefused(f"导出被脱敏闸门拒绝：以下列仍含未脱敏的敏感信息：{cols}；请调整脱敏策略后重试",
                            "Export refused by the desensitization gate: columns still hold unmasked sensitive data: "
                            + ", ".join(f"{v.column} ({v.entity})" for v in result.violations),
                            details={"action": "privacy.gate", **result.as_dict()})
    return result
