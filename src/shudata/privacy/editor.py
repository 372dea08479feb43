"""The masking-policy editor's use cases: per column an operator and its parameters, a preview of
the drafted policy on a sample of the resource's latest version, save, and who uses the policy.

The editor edits the policy delivery looks up for a resource under a profile — the name
``<code with / as ->-<profile>`` (:func:`shudata.privacy.ownership.resource_policy_name`): grants
of that profile (sharing) and the open portal's gate runs (profile ``open``) mask with it.
The preview compiles the draft exactly as deliveries do (:func:`shudata.privacy.service.plan_for`
on the detected entities with the stewards' reviews applied) and runs it in the engine on a
sample; the original sample is shown only to whoever may read the resource raw (its provider
department's stewards), as everywhere else. Who uses a policy is answered by the packages
above this one through the ``privacy_policy_users`` hook (sharing: grants; portal:
publications), so privacy imports neither.

Parameters arrive typed (API) or as the text of form fields; refusals name the column, the
operator and the parameter in Chinese:

>>> parse_operator("手机", {"op": "partial_mask", "keep_head": "3", "keep_tail": "40"}).keep_head
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 列“手机”的算子“部分遮盖（partial_mask）”参数有误：保留末尾字符数应不大于 32
>>> parse_operator("收入", {"op": "bucket", "boundaries": "3000, 8000"}).boundaries
(3000.0, 8000.0)
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin

import pyarrow as pa
import yaml
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.audit import events
from shudata.audit.ledger import record
from shudata.catalog.access import find_resource, resource_ref
from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.errors import InvalidInput, NotFound
from shudata.core.plugins import plugins_of
from shudata.core.textsafe import is_control_error
from shudata.core.types import Actor
from shudata.core.validation import message_zh
from shudata.lake.service import latest_version
from shudata.privacy import actions, keys, ownership, sources
from shudata.privacy.detect.classify import about_persons, scan_table
from shudata.privacy.editor_schemas import (
    EditorColumn,
    EditorState,
    OperatorForm,
    ParamField,
    PolicyDraft,
    PolicyPreview,
    PolicyUsage,
    PolicyUse,
)
from shudata.privacy.entities import ENTITIES
from shudata.privacy.gate import check_export
from shudata.privacy.labels import choice_label, operator_label, operator_text, param_label, technique_label
from shudata.privacy.mask import mask_table
from shudata.privacy.models import PrivacyPolicy, PrivacyScanReport
from shudata.privacy.operators.base import Operator, type_family
from shudata.privacy.operators.registry import problems
from shudata.privacy.policy import Policy, operators, resolve, validate_policy
from shudata.privacy.profiles import PROFILES
from shudata.privacy.review import apply_reviews, in_force
from shudata.privacy.schemas import PolicyRead, PolicySave
from shudata.privacy.service import GATE_EXEMPT_OPS, plan_for, save_policy
from shudata.security.authz import require

PREVIEW_ROWS = 10
_SPLIT = re.compile(r"[,，;；\s]+")  # numbers
_SPLIT_TEXT = re.compile(r"\s*[,，;；]\s*")  # labels may hold blanks


# -- operator forms ----------------------------------------------------------------------

def _plain(annotation: Any) -> Any:
    """``X | None`` → ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _kind(name: str, annotation: Any) -> str:
    if name == "key_id":
        return "key"
    if name == "entity_column":
        return "column"
    t = _plain(annotation)
    origin = get_origin(t)
    if origin is Literal:
        return "choice"
    if origin is tuple:
        return "numbers" if get_args(t)[0] is float else "texts"
    if origin is dict:
        return "mapping"
    return {int: "int", float: "float"}.get(t, "text")


def _bound(info: FieldInfo, attr: str) -> float | None:
    for m in info.metadata:
        v = getattr(m, attr, None)
        if v is not None:
            return float(v)
    return None


def _field(name: str, info: FieldInfo, lang: str) -> ParamField:
    kind = _kind(name, info.annotation)
    choices = [(str(v), choice_label(name, str(v), lang)) for v in get_args(_plain(info.annotation))] \
        if kind == "choice" else []
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    return ParamField(name=name, label=param_label(name, lang), kind=kind, required=info.is_required(),
                      default=default if not isinstance(default, (dict, tuple)) else None, choices=choices,
                      minimum=_bound(info, "ge"), maximum=_bound(info, "le"))


def operator_forms(lang: str = "zh-CN") -> list[OperatorForm]:
    """Every registered operator with the form fields of its parameters."""
    reg = operators()
    out = []
    for name in reg.names():
        cls = reg.get(name)
        out.append(OperatorForm(name=name, label=operator_label(name, lang),
                                technique=technique_label(cls.technique, lang), reversible=cls.reversible,
                                accepts=sorted(cls.accepts),
                                fields=[_field(f, info, lang) for f, info in cls.model_fields.items()
                                        if f not in SERVER_PATH_PARAMS]))
    return out


# -- parsing with Chinese messages --------------------------------------------------------

def _coerce(cls: type[Operator], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Form text → typed values: empty fields are left out (the default), lists split, mappings by line."""
    out: dict[str, Any] = {}
    for key, raw_value in raw.items():
        if key == "op":
            continue
        value = raw_value
        if isinstance(raw_value, str):
            text = raw_value.strip()
            if text == "":
                continue
            info = cls.model_fields.get(key)
            kind = _kind(key, info.annotation) if info is not None else "text"
            if kind in ("numbers", "texts"):
                value = [v for v in (_SPLIT if kind == "numbers" else _SPLIT_TEXT).split(text) if v]
            elif kind == "mapping":
                pairs = [line.split("=", 1) for line in text.splitlines() if "=" in line]
                value = {a.strip(): b.strip() for a, b in pairs}
            else:
                value = text
        out[key] = value
    return out


def _zh_problem(err: Mapping[str, Any]) -> str:
    """One pydantic error as a Chinese phrase (what the value should be)."""
    kind, ctx = err["type"], err.get("ctx") or {}
    simple = {"missing": "为必填项", "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数",
              "float_parsing": "应为数字", "float_type": "应为数字", "string_type": "应为文本",
              "extra_forbidden": "不是该算子的参数", "tuple_type": "应为逗号分隔的列表",
              "dict_type": "应为“原值=泛化值”的列表", "bool_parsing": "应为是或否"}
    if kind in simple:
        return simple[kind]
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        word = {"greater_than_equal": "不小于", "greater_than": "大于", "less_than_equal": "不大于",
                "less_than": "小于"}[kind]
        bound = next(iter(ctx.values()), "")
        return f"应{word} {bound}"
    if kind == "string_too_short":
        return "不能为空" if ctx.get("min_length") == 1 else f"至少 {ctx.get('min_length')} 个字符"
    if kind == "string_too_long":
        return f"最多 {ctx.get('max_length')} 个字符"
    if kind == "too_short":
        return f"至少需要 {ctx.get('min_length')} 项"
    if kind == "too_long":
        return f"最多 {ctx.get('max_length')} 项"
    if kind == "literal_error":
        return f"应为以下之一：{ctx.get('expected', '')}"
    if kind == "value_error":
        msg = str(ctx.get("error", err.get("msg", "")))
        if is_control_error(err):  # zh first (core.textsafe)
            return msg.split(" / ", 1)[0]
        return msg.split(" / ", 1)[1] if " / " in msg else msg
    return message_zh(err)  # the platform's one table for the rest


def zh_errors(exc: ValidationError, names: Mapping[str, str] | None = None) -> str:
    """A pydantic refusal in Chinese: each field by its label (``names``, else the parameter labels)."""
    parts = []
    for e in exc.errors():
        loc = [str(x) for x in e["loc"]]
        name = (names or {}).get(loc[0]) or param_label(loc[0]) if loc else ""
        problem = _zh_problem(e)
        if name and is_control_error(e):
            parts.append(f"{name}：{problem}")
        else:
            parts.append(f"{name}{problem}" if name and e["type"] != "value_error" else problem)
    return "；".join(parts)


# Parameters that name a file on the server: only the CLI (the operator's own files) may use them;
# over the web a steward could otherwise read any file the server can (its rows become the mapping).
SERVER_PATH_PARAMS = frozenset({"file"})


def _server_path_refused(where: str) -> InvalidInput:
    return InvalidInput(f"{where}引用了服务器上的文件（file 参数）：网页和 API 不能读取服务器文件；"
                        "请在“映射”中逐行填写“原值=泛化值”，或由运维人员用命令行保存含层次文件的策略",
                        f"{where} names a file on the server (parameter file): the web and the API do not read "
                        "server files; give the mapping instead, or save the policy with the CLI",
                        code="policy_server_file")


def refuse_server_paths(policy: Mapping[str, Any] | str | None) -> None:
    """Refuse a policy from the web or the API whose operators name a server file.

    >>> refuse_server_paths({"name": "p", "columns": {"c": {"op": "hierarchy", "file": "/etc/passwd"}}})
    Traceback (most recent call last):
    ...
    shudata.core.errors.InvalidInput: 列“c”引用了服务器上的文件（file 参数）：...
    """
    if isinstance(policy, str):
        try:
            policy = json.loads(policy) if policy.lstrip().startswith("{") else yaml.safe_load(policy)
        except (ValueError, yaml.YAMLError):
            return  # not a policy: parsing it refuses it with its own message
    if not isinstance(policy, Mapping):
        return
    ops: list[tuple[str, Any]] = [(f"列“{k}”", v) for k, v in dict(policy.get("columns") or {}).items()]
    ops += [(f"实体“{k}”", v) for k, v in dict(policy.get("entities") or {}).items()]
    ops.append(("默认算子", policy.get("default")))
    for where, op in ops:
        if isinstance(op, Mapping) and SERVER_PATH_PARAMS & {k for k, v in op.items() if v not in (None, "")}:
            raise _server_path_refused(where)


def parse_operator(column: str, data: Mapping[str, Any]) -> Operator:
    """The operator of one column from ``{"op": name, **params}``; ``InvalidInput`` in Chinese otherwise."""
    name = data.get("op")
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"请为列“{column}”选择脱敏算子", f"Choose an operator for column {column!r}",
                           code="bad_operator_params", details={"column": column})
    reg = operators()
    if name not in reg.names():
        raise InvalidInput(f"列“{column}”的脱敏算子“{name}”不存在；可用：{'、'.join(reg.names())}",
                           f"Unknown operator {name!r} for column {column!r}", code="unknown_operator",
                           details={"column": column})
    cls = reg.get(name)
    if SERVER_PATH_PARAMS & {k for k, v in data.items() if v not in (None, "")}:
        raise _server_path_refused(f"列“{column}”")
    try:
        return cls.model_validate(_coerce(cls, data))
    except ValidationError as exc:
        _, en, code = problems(exc, "bad_operator_params")
        raise InvalidInput(f"列“{column}”的算子“{operator_text(name)}”参数有误：{zh_errors(exc)}",
                           f"Bad parameters of operator {name} for column {column!r}: {en}", code=code,
                           details={"column": column, "operator": name}) from None


def build_policy(draft: PolicyDraft, res: CatalogResource, schema: pa.Schema | None) -> Policy:
    """The policy a draft describes, named as delivery looks it up, checked against the table."""
    if schema is not None:
        unknown = [c for c in draft.columns if c not in schema.names]
        if unknown:
            raise InvalidInput(f"资源“{res.name}”没有这些列：{'、'.join(unknown)}",
                               f"{res.code} has no columns {', '.join(unknown)}", code="policy_unknown_column",
                               details={"unknown": unknown})
    ops = {col: parse_operator(col, data) for col, data in draft.columns.items()}
    policy = Policy.parse({"name": ownership.resource_policy_name(res, draft.profile), "profile": draft.profile,
                           "description": draft.description, "columns": ops})
    return policy


# -- the editor's state --------------------------------------------------------------------

def _findings(session: Session, settings: Settings, res: CatalogResource, data: sources.ResourceData
              ) -> tuple[dict[str, str | None], int | None]:
    """Column → detected entity: the newest scan report of the resource (its latest version's when
    there is one), else a sample scan; the stewards' reviews in force applied. Also the scanned version."""
    rows = list(session.scalars(select(PrivacyScanReport).where(PrivacyScanReport.resource_id == res.id)
                                .order_by(PrivacyScanReport.id.desc()).limit(20)))
    row = next((r for r in rows if r.version == data.version.version), rows[0] if rows else None)

    def sample() -> pa.Table:
        return sources.sample_table(settings, data.source, 2000)

    if row is not None:
        found: dict[str, str | None] = {c["column"]: c["entity"] for c in row.report["columns"]}
        version = row.version
    else:
        found = {c.column: c.entity for c in scan_table(sample(), source=data.label).columns}
        version = data.version.version
    return apply_reviews(session, res.id, found, sample), version


def _saved(session: Session, name: str) -> PrivacyPolicy | None:
    return session.scalar(select(PrivacyPolicy).where(PrivacyPolicy.name == name))


def editor_state(*, session: Session, actor: Actor, settings: Settings, resource: str, profile: str,
                 lang: str = "zh-CN") -> EditorState:
    """The columns of a resource's latest version with what detection found and the operator
    proposed: the saved policy's, else the profile's default for the detected entity."""
    res = find_resource(session, resource)
    sources.require_raw_reader(actor, res, actions.POLICY_MANAGE_DEPT)
    if profile not in PROFILES:
        raise InvalidInput(f"未知的使用场景“{profile}”；可用：{'、'.join(PROFILES)}", f"Unknown profile {profile!r}",
                           code="unknown_masking_profile")
    data = sources.resource_data(session, settings, actor, res.code, None, actions.POLICY_MANAGE_DEPT)
    schema = sources.version_schema(settings, data.version) or sources.sample_table(settings, data.source, 1).schema
    findings, scanned = _findings(session, settings, res, data)
    name = ownership.resource_policy_name(res, profile)
    row = _saved(session, name)
    policy = Policy.parse(row.body) if row is not None else Policy.parse({"name": name, "profile": profile})
    resolved = resolve(policy, schema, findings)
    reviewed = in_force(session, res.id)
    cols = []
    for field in schema:
        entity = findings.get(field.name)
        op = resolved[field.name]
        source = "policy" if field.name in policy.columns else ("proposed" if entity else "none")
        cols.append(EditorColumn(name=field.name, family=type_family(field.type), entity=entity,
                                 entity_label=(ENTITIES[entity].zh if lang != "en" else ENTITIES[entity].en)
                                 if entity in ENTITIES else entity,
                                 reviewed=field.name in reviewed, op=op.name,
                                 params={k: v for k, v in op.params().items() if k != "op"}, source=source))
    return EditorState(resource=res.code, resource_name=res.name, profile=profile, policy_name=name,
                       revision=row.revision if row is not None else None, scanned_version=scanned,
                       columns=cols, keys=sorted(keys.active_ids(session)))


# -- preview, save, usage ------------------------------------------------------------------

def preview_policy(*, session: Session, actor: Actor, settings: Settings, draft: PolicyDraft,
                   rows: int = PREVIEW_ROWS) -> PolicyPreview:
    """The draft compiled as deliveries compile it and run on ``rows`` sample rows of the latest
    version: the rows before and after, what changed per column and what the export gate says."""
    res = find_resource(session, draft.resource)
    data = sources.resource_data(session, settings, actor, res.code, None, actions.POLICY_MANAGE_DEPT)
    schema = sources.version_schema(settings, data.version)
    policy = build_policy(draft, res, schema)
    sample = sources.sample_table(settings, data.source, max(1, min(rows, 50)))
    findings, _ = _findings(session, settings, res, data)
    plan = plan_for(session, settings, policy, sample.schema, findings, binding=res.code)
    out = mask_table(sample, plan, engine=sources.engine(settings))
    exempt = {c: op.name for c, op in plan.operators.items() if op.name in GATE_EXEMPT_OPS}
    gate = check_export(out, profile=policy.profile, exempt=exempt, person_table=about_persons(findings.values()),
                        overruled=set(in_force(session, res.id))).as_dict()
    before, after = sample.to_pylist(), out.to_pylist()
    changed = {c: sum(1 for b, a in zip(before, after, strict=True) if b[c] != a[c]) for c in sample.column_names}
    operators_used = {c: op.name for c, op in plan.operators.items()}
    record(session, actor, events.PrivacyPolicyPreview(
        resource_id=res.code, details={"version": data.version.version, "profile": policy.profile,
                                       "rows": out.num_rows, "operators": operators_used}))
    return PolicyPreview(resource=res.code, version=data.version.version, policy_name=policy.name,
                         columns=list(sample.column_names), operators=operators_used, before=before, after=after,
                         changed=changed, gate=gate)


def save_draft(*, session: Session, actor: Actor, settings: Settings, draft: PolicyDraft) -> PolicyRead:
    """Save the draft as the resource's policy for its profile (a new revision when it exists).

    Only the provider department's stewards may (checked before the draft is read); nothing is
    written when a parameter is wrong.
    """
    res = find_resource(session, draft.resource)
    ownership.require_resource_policy(actor, ownership.binding(session, ownership.resource_policy_name(
        res, draft.profile)))
    version = latest_version(session, res.id)
    schema = sources.version_schema(settings, version) if version is not None else None
    policy = build_policy(draft, res, schema)
    validate_policy(policy, schema, available_keys=keys.active_ids(session))
    return save_policy(session=session, actor=actor, settings=settings,
                       data=PolicySave(policy=policy.to_dict(), resource=res.code))


def policy_usage(*, session: Session, actor: Actor, name: str) -> PolicyUsage:
    """The grants and publications that mask with the saved policy ``name``.

    Only a resource's own policy (``<code>-<profile>``) is looked up by deliveries; any other
    name has no users. The provider department's stewards (and the platform admin) may ask.
    """
    require(actor, actions.POLICY_VIEW)
    row = _saved(session, name)
    if row is None:
        raise NotFound(f"脱敏策略“{name}”不存在", f"Masking policy {name!r} not found", code="policy_not_found")
    bound = ownership.binding(session, name)
    profile = bound.exact_profile()
    if profile is None:
        return PolicyUsage(policy=name, resource="", profile=row.profile, uses=[])
    res = bound.resources[0]
    require(actor, actions.POLICY_USAGE, resource_ref(res))
    found = plugins_of(session).hook.privacy_policy_users(session=session, resource=res, profile=profile,
                                                           policy=name)
    uses = [PolicyUse.model_validate(u) for group in found for u in group]
    uses.sort(key=lambda u: (u.kind, -u.id))
    return PolicyUsage(policy=name, resource=res.code, profile=profile, uses=uses)


def resource_columns(*, session: Session, actor: Actor, settings: Settings, resource: str
                     ) -> list[tuple[str, str]]:
    """The columns of a resource's latest version and their type family, for the k-anonymity form
    (the readers of its raw data only, as the anonymisation itself)."""
    res = find_resource(session, resource)
    sources.require_raw_reader(actor, res, actions.RISK)
    version = latest_version(session, res.id)
    schema = sources.version_schema(settings, version) if version is not None else None
    return [(f.name, type_family(f.type)) for f in schema] if schema is not None else []
