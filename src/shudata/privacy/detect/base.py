"""Recognizer specs and the plain-data findings they produce.

A :class:`PatternRecognizer` is a typed, frozen spec: the entity it finds, RE2 patterns
that a whole (normalised) value must match, header context words (Chinese, pinyin
initials, English), an optional validator (check digits, real dates, region codes) and a
base score. Findings join detection to policy as plain data.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PatternRecognizer(BaseModel):
    """One recognizer.

    Attributes:
        name: unique registry key.
        entity: entity type name (see :mod:`shudata.privacy.entities`).
        patterns: RE2 regular expressions a normalised value must match in full.
        context: header words that raise confidence (lower-case compared).
        validator: name of a function in :data:`shudata.privacy.detect.validators.VALIDATORS`.
        needs_context: only report when the header matches (e.g. dates of birth).
        text_pattern: an unanchored pattern for finding the entity inside free text.
        text_finder: name of a function in :data:`shudata.privacy.detect.names.FINDERS` that
            returns candidate entities inside one free-text value (e.g. jieba's name tagging);
            a recognizer with a finder and no ``patterns`` only scans free text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    entity: str
    patterns: tuple[str, ...]
    context: tuple[str, ...] = ()
    validator: str | None = None
    needs_context: bool = False
    text_pattern: str | None = None
    text_finder: str | None = None
    strip_separators: bool = True


class ColumnFinding(BaseModel):
    """What one column probably holds."""

    model_config = ConfigDict(frozen=True)

    column: str
    entity: str | None
    confidence: float = Field(ge=0, le=1)
    evidence: str
    sampled: int = 0
    matched: int = 0
    header_match: bool = False
    free_text: bool = False
    grade: int = 1
    sensitive: bool = False
    recognizer: str | None = None  # which recognizer decided
    share: float = 0.0  # matched / sampled
    examples: tuple[str, ...] = ()  # matching values, masked (first and last character)
    not_personal: str | None = None  # what the values look like when the table is not about persons


class ScanReport(BaseModel):
    """Findings for every column of one table, plus the proposed 分类分级 grade."""

    model_config = ConfigDict(frozen=True)

    source: str
    rows: int
    sampled_rows: int
    columns: tuple[ColumnFinding, ...]
    proposed_grade: int
    proposed_grade_label: str
    sensitive_columns: tuple[str, ...]

    def finding(self, column: str) -> ColumnFinding | None:
        return next((c for c in self.columns if c.column == column), None)
