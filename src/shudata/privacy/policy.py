"""Policies: columns (or detected entity types, with a default) → operators, as YAML/JSON.

A policy names a profile (``open``, ``share-conditional``, ``trade``, ``internal``); entity
types it does not mention take the profile's default. Its description and its operators' text
parameters hold no control characters (422 ``control_characters``, however the policy arrives:
API, editor, YAML/JSON file, CLI, or a stored row read back to run it). :func:`validate_policy` checks a
policy against a table schema and the available keys when it is saved.

>>> p = Policy.parse({"name": "demo", "profile": "open",
...                   "columns": {"手机": {"op": "partial_mask", "keep_head": 3, "keep_tail": 4}}})
>>> p.columns["手机"].name, p.to_dict()["columns"]["手机"]["keep_tail"]
('partial_mask', 4)
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator

from shudata.core.errors import InvalidInput, NotFound
from shudata.core.textsafe import PlainText
from shudata.privacy.entities import ENTITIES
from shudata.privacy.operators.base import ANY, Operator, type_family
from shudata.privacy.operators.registry import OperatorRegistry, default_registry, problems
from shudata.privacy.profiles import PROFILES, ProfileName

_REGISTRY: OperatorRegistry | None = None


def operators() -> OperatorRegistry:
    """The process's operator registry (built-ins), built on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = default_registry()
    return _REGISTRY


class Policy(BaseModel):
    """A masking policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w\-\u4e00-\u9fff .]+$")
    profile: ProfileName = "internal"
    description: PlainText = ""
    columns: dict[str, SerializeAsAny[Operator]] = Field(default_factory=dict)
    entities: dict[str, SerializeAsAny[Operator]] = Field(default_factory=dict)
    default: SerializeAsAny[Operator] | None = None

    @field_validator("columns", "entities", mode="before")
    @classmethod
    def _ops(cls, v: Any) -> Any:
        if not isinstance(v, Mapping):
            return v
        return {str(k): operators().parse(o) for k, o in v.items()}

    @field_validator("default", mode="before")
    @classmethod
    def _default(cls, v: Any) -> Any:
        return None if v is None else operators().parse(v)

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, v: dict[str, Operator]) -> dict[str, Operator]:
        unknown = [e for e in v if e not in ENTITIES]
        if unknown:
            raise ValueError(f"unknown entity types / 未知实体类型: {', '.join(unknown)}")
        return v

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Policy:
        """A policy from plain data, with errors a person can act on."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            zh, en, code = problems(exc, "invalid_policy")
            raise InvalidInput(f"脱敏策略有误：{zh}", f"Invalid masking policy: {en}", code=code) from None

    @classmethod
    def from_text(cls, text: str) -> Policy:
        """Parse YAML or JSON text."""
        try:
            data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise InvalidInput(f"策略文件不是有效的 YAML/JSON：{exc}", f"Policy is not valid YAML/JSON: {exc}",
                               code="invalid_policy") from None
        if not isinstance(data, Mapping):
            raise InvalidInput("策略文件应为键值对象", "A policy must be a mapping", code="invalid_policy")
        return cls.parse(data)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "profile": self.profile, "description": self.description,
                "columns": {k: v.params() for k, v in self.columns.items()},
                "entities": {k: v.params() for k, v in self.entities.items()},
                "default": self.default.params() if self.default else None}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False)

    def key_ids(self) -> set[str]:
        ops = [*self.columns.values(), *self.entities.values(), *([self.default] if self.default else [])]
        return {k for op in ops for k in op.key_ids()}


def entity_operator(policy: Policy, entity: str) -> Operator:
    """The operator for a detected entity: the policy's rule, its default, else the profile's."""
    if entity in policy.entities:
        return policy.entities[entity]
    if policy.default is not None:
        return policy.default
    return operators().parse(PROFILES[policy.profile].entity_defaults.get(entity, {"op": "suppress"}))


def _masked_entity(policy: Policy, entity: str) -> bool:
    """Public entities (grade 1: organisation names) are kept unless the policy names them."""
    et = ENTITIES.get(entity)
    return entity in policy.entities or et is None or et.grade > 1


def resolve(policy: Policy, schema: pa.Schema, findings: Mapping[str, str | None] | None = None
            ) -> dict[str, Operator]:
    """Column → operator for every column of ``schema`` (``keep`` for the rest).

    Explicit column rules win; otherwise a column detected as an entity type gets the
    entity rule (or default, or the profile's choice).
    """
    out: dict[str, Operator] = {}
    keep = operators().parse({"op": "keep"})
    for name in schema.names:
        if name in policy.columns:
            out[name] = policy.columns[name]
        elif findings and findings.get(name) and _masked_entity(policy, str(findings[name])):
            out[name] = entity_operator(policy, str(findings[name]))
        else:
            out[name] = keep
    return out


def validate_policy(policy: Policy, schema: pa.Schema | None = None, *,
                    available_keys: Collection[str] | None = None) -> None:
    """Refuse unknown columns, operators that do not fit a column's type and missing keys."""
    if schema is not None:
        unknown = [c for c in policy.columns if c not in schema.names]
        if unknown:
            raise InvalidInput(f"策略引用了不存在的列：{'、'.join(unknown)}；现有列：{'、'.join(schema.names)}",
                               f"The policy names unknown columns: {', '.join(unknown)}", code="policy_unknown_column",
                               details={"unknown": unknown})
        for col, op in policy.columns.items():
            fam = type_family(schema.field(col).type)
            if ANY not in op.accepts and fam not in op.accepts:
                raise InvalidInput(f"算子“{op.name}”（{op.zh}）不能用于列“{col}”（类型 {fam}）；"
                                   f"可用于：{'、'.join(sorted(op.accepts))}",
                                   f"Operator {op.name} does not fit column {col!r} of type {fam}; it accepts "
                                   f"{', '.join(sorted(op.accepts))}", code="operator_type_mismatch")
            entity_col = getattr(op, "entity_column", None)
            if entity_col is not None and entity_col not in schema.names:
                raise InvalidInput(f"日期偏移的实体列“{entity_col}”不存在",
                                   f"Entity column {entity_col!r} does not exist",
                                   code="policy_unknown_column")
    if available_keys is not None:
        missing = sorted(policy.key_ids() - set(available_keys))
        if missing:
            raise NotFound(f"策略使用的密钥不存在或已停用：{'、'.join(missing)}；"
                           "请先用 shudata privacy key create 创建",
                           f"Keys used by the policy do not exist or are disabled: {', '.join(missing)}",
                           code="key_not_found", details={"missing": missing})
