"""Pydantic models of quality results, runs, rule sets, quarantine and lineage (API contract)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["pass", "fail", "warn", "report", "skipped"]


class RuleResult(BaseModel):
    """The outcome of one rule on one data version."""

    key: str
    type: str
    dimension: str
    severity: str
    threshold: float
    scope: str = "row"
    columns: list[str] = Field(default_factory=list)
    sentence_zh: str
    sentence_en: str
    total: int = Field(description="被检查的行数（数据集级规则为 1）")
    failed: int = Field(description="不通过的行数")
    percent: float = Field(description="不通过比例（百分比）")
    passed: bool
    status: Status
    samples: list[str] = Field(default_factory=list, description="不通过值示例")
    sql: str | None = Field(None, description="复现不通过行的 SQL")
    detail: str | None = None


class ColumnStat(BaseModel):
    column: str
    nulls: int
    null_rate: float


class CheckReport(BaseModel):
    """All results of a rule set on one version, with the dimension scores."""

    rows: int
    results: list[RuleResult]
    columns: list[ColumnStat] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(r.passed or r.severity == "report" for r in self.results)


class RuleSetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    resource_id: int
    resource_code: str
    revision: int
    spec: dict[str, Any]
    comment: str | None = None
    created_by: str
    created_at: dt.datetime


class RuleSuggestion(BaseModel):
    """One proposed rule: valid as it stands, its reason in ``reason`` (and in the rule's ``note``)."""

    key: str
    column: str
    rule: dict[str, Any]
    sentence_zh: str
    sentence_en: str
    reason: str = ""


class RuleSuggestions(BaseModel):
    """Rules proposed from the profile of the entry's newest version (empty without data)."""

    resource_code: str
    version: int | None = None
    rows: int | None = None
    current_revision: int | None = None
    suggestions: list[RuleSuggestion] = Field(default_factory=list)


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: int
    version: int | None
    kind: str
    rule_set_revision: int | None
    rows: int
    passed: bool
    scores: dict[str, Any]
    created_by: str
    created_at: dt.datetime
    results: list[RuleResult] = Field(default_factory=list)
    columns: list[ColumnStat] = Field(default_factory=list)


class QuarantineRowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int | None
    row_no: int | None
    data: dict[str, Any]
    rules: list[str]
    reasons: str
    status: str


class QuarantineFix(BaseModel):
    data: dict[str, Any] = Field(description="修正后的整行数据")


class LineageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: int
    source_version: int
    target_version: int
    pipeline: str
    pipeline_revision: int | None
    steps: list[dict[str, Any]]
    created_by: str
    created_at: dt.datetime


class ColumnProfile(BaseModel):
    """``shudata profile``: one object per column."""

    column: str
    type: str
    nulls: int
    distinct: int
    kind: str | None = None
    invalid: int | None = None
    null_rate: float = 0.0
    samples: list[str] = Field(default_factory=list)
    suggested_rules: list[dict[str, Any]] = Field(default_factory=list)


class FileProfile(BaseModel):
    file: str
    rows: int
    columns: list[ColumnProfile]
