"""Request/response models of the masking-policy editor (:mod:`shudata.privacy.editor`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from shudata.privacy.profiles import ProfileName


class PolicyDraft(BaseModel):
    """What the editor sends: per column an operator and its parameters, for one resource and profile.

    ``columns`` maps a column to ``{"op": name, **params}``; parameter values may be typed or
    the text of a form field (``"3"``, ``"18, 60"``, ``"a=b"`` lines). A column left out keeps
    the detected entity's default of the profile (or its value, when nothing was detected).
    """

    resource: str = Field(min_length=1, max_length=300, description="资源代码、别名或名称")
    profile: ProfileName = Field("share-conditional", description="适用场景：open、share-conditional、trade、internal")
    description: str = Field("", max_length=2000)
    columns: dict[str, dict[str, Any]] = Field(default_factory=dict, description="列 → {op: 算子, 参数…}")


class ParamField(BaseModel):
    """One form field of an operator."""

    name: str
    label: str
    kind: str  # int | float | text | choice | numbers | texts | mapping | key | column
    required: bool
    default: Any = None
    choices: list[tuple[str, str]] = Field(default_factory=list)  # (value, label)
    minimum: float | None = None
    maximum: float | None = None


class OperatorForm(BaseModel):
    name: str
    label: str
    technique: str
    reversible: bool
    accepts: list[str]
    fields: list[ParamField]


class EditorColumn(BaseModel):
    """A column as the editor shows it: its type, what detection found, the proposed operator."""

    name: str
    family: str
    entity: str | None
    entity_label: str | None
    reviewed: bool
    op: str
    params: dict[str, Any]
    source: str  # policy | proposed | none


class EditorState(BaseModel):
    resource: str
    resource_name: str
    profile: str
    policy_name: str
    revision: int | None
    scanned_version: int | None
    columns: list[EditorColumn]
    keys: list[str]


class PolicyPreview(BaseModel):
    """A sample of the resource's latest version before and after the drafted policy."""

    resource: str
    version: int
    policy_name: str
    columns: list[str]
    operators: dict[str, str]  # column -> operator name (keep for unchanged)
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]
    changed: dict[str, int]  # column -> rows whose value differs
    gate: dict[str, Any]


class PolicyUse(BaseModel):
    """A grant or publication that masks with a policy."""

    kind: str  # grant | publication
    id: int
    label: str
    state: str
    when: dt.datetime | None = None
    until: dt.datetime | None = None
    href: str | None = None


class PolicyUsage(BaseModel):
    policy: str
    resource: str
    profile: str
    uses: list[PolicyUse]
