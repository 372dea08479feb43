"""Privacy pages: scan reports per version with the proposed grade (the steward confirms), the
evidence of each finding and the steward's review of a column (overrule: not personal / another
entity, with the reason; withdraw),
re-identification risk before/after as ECharts, operators and policies. Each page calls the
same services as ``/api/v1/privacy``; a refusal (403) is the error page, audited, not a flash."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from shudata.catalog.access import find_resource
from shudata.core.errors import InvalidInput, PermissionDenied, ShudataError, Unauthenticated
from shudata.privacy import editor, labels, ownership, review, service, service_models
from shudata.privacy.editor_schemas import PolicyDraft
from shudata.privacy.entities import ENTITIES, GRADE_LABELS
from shudata.privacy.profiles import PROFILES, PROFILES_ORDER
from shudata.privacy.schemas import ColumnReviewSave, KanonRequest
from shudata.web.deps import LangDep, SessionDep, SettingsDep, UserDep
from shudata.web.ui.render import flash, redirect, render, validation_messages

router = APIRouter()
WITHDRAW = "__withdraw__"
R = "/privacy/resources/{code:path}"
RISK_FIELDS = (("prosecutor_max", "最高风险", "highest risk"),
               ("prosecutor_avg", "平均风险（检察官）", "average prosecutor"),
               ("journalist_max", "记者模型最高风险", "journalist max"), ("marketer", "营销者风险", "marketer"),
               ("unique_share", "唯一记录占比", "unique records"))


def _labels(lang: str) -> dict[str, Any]:
    """The one label mapping (:mod:`shudata.privacy.labels`) as template helpers."""
    return {"op_label": lambda n: labels.operator_label(n, lang),
            "profile_label": lambda n: labels.profile_label(n, lang),
            "family_label": lambda n: labels.family_label(n, lang), "profile_names": list(PROFILES_ORDER)}


@router.get("/privacy")
def overview(request: Request, session: SessionDep, actor: UserDep, lang: LangDep) -> Response:
    policies = service.list_policies(session=session, actor=actor)
    bound = {p.name: m["code"] for p in policies if (m := ownership.BOUND_RE.match(ownership.fold(p.name)))}
    return render(request, "privacy/index.html", {
        "ops": labels.operator_catalog(lang), "profiles": PROFILES.values(), "entities": ENTITIES.values(),
        "grades": GRADE_LABELS, "policies": policies, "bound": bound, **_labels(lang)})


@router.post(R + "/review")
def review_column(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
                  column: str = Form(...), entity: str = Form(""), reason: str = Form("")) -> Response:
    """The steward's decision on a column: another entity, "not personal" (empty) or withdraw."""
    withdraw = entity == WITHDRAW
    try:
        data = ColumnReviewSave(resource=code, column=column, entity=None if withdraw or not entity else entity,
                                reason=reason.strip() or ("撤销复核" if withdraw else ""), withdraw=withdraw)
        review.review_column(session=session, actor=actor, settings=settings, data=data)
        flash(request, "success", f"已记录对列“{column}”的复核", f"Review of column {column!r} recorded")
    except (PermissionDenied, Unauthenticated):
        raise  # the error page, audited as a denial
    except ShudataError as exc:
        flash(request, "danger", exc.zh, exc.en)
    except ValidationError:
        flash(request, "danger", "请写明复核理由（2 到 2000 个字，不含控制字符）",
              "Give the reason for the review (2 to 2,000 characters, no control characters)")
    return redirect(f"/privacy/resources/{code}")


@router.post(R + "/scan")
def scan(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep) -> Response:
    try:
        rep = service.scan_resource(session=session, actor=actor, settings=settings, resource=code)
        flash(request, "success", f"扫描完成：{rep.proposed_grade_label}", "Scan finished")
    except (PermissionDenied, Unauthenticated):
        raise  # the error page, audited as a denial
    except ShudataError as exc:
        flash(request, "danger", exc.zh, exc.en)
    return redirect(f"/privacy/resources/{code}")


@router.post("/privacy/scans/{report_id}/confirm")
def confirm(request: Request, report_id: int, session: SessionDep, actor: UserDep, grade: int = Form(...),
            back: str = Form("/privacy")) -> Response:
    try:
        service.confirm_grade(session=session, actor=actor, report_id=report_id, grade=grade)
        flash(request, "success", "已确认分级", "Grade confirmed")
    except (PermissionDenied, Unauthenticated):
        raise  # the error page, audited as a denial
    except ShudataError as exc:
        flash(request, "danger", exc.zh, exc.en)
    return redirect(back if back.startswith("/privacy/") else "/privacy")


# -- the masking-policy editor ---------------------------------------------------------------

def _draft(code: str, form: Mapping[str, Any]) -> PolicyDraft:
    """The editor's form as a draft: row ``i`` has ``col_i``, ``ent_i`` (detected entity), ``op_i``
    and the fields ``p_i_<op>_<param>`` of the chosen operator. A column kept as it is and in
    which nothing was detected is left out of the policy (it is kept anyway)."""
    columns: dict[str, dict[str, Any]] = {}
    i = 0
    while f"col_{i}" in form:
        col, op = str(form[f"col_{i}"]), str(form.get(f"op_{i}", "keep"))
        prefix = f"p_{i}_{op}_"
        if op != "keep" or form.get(f"ent_{i}"):
            columns[col] = {"op": op, **{k[len(prefix):]: str(v) for k, v in form.items() if k.startswith(prefix)}}
        i += 1
    profile = str(form.get("profile", "share-conditional"))
    try:
        return PolicyDraft.model_validate({"resource": code, "profile": profile,
                                           "description": str(form.get("description", "")), "columns": columns})
    except ValidationError:
        raise InvalidInput(f"未知的使用场景“{profile}”；可用：{'、'.join(PROFILES_ORDER)}",
                           f"Unknown profile {profile!r}", code="unknown_masking_profile") from None


def _editor_page(request: Request, code: str, profile: str, session: SessionDep, settings: SettingsDep,
                 actor: UserDep, lang: str, *, error: str | None = None, draft: PolicyDraft | None = None,
                 status_code: int = 200) -> Response:
    state = editor.editor_state(session=session, actor=actor, settings=settings, resource=code, profile=profile,
                                lang=lang)
    if draft is not None:  # a refused save: show what was submitted
        for c in state.columns:
            if c.name in draft.columns:
                c.op = str(draft.columns[c.name].get("op", c.op))
                c.params = {k: v for k, v in draft.columns[c.name].items() if k != "op"}
    usage = (editor.policy_usage(session=session, actor=actor, name=state.policy_name)
             if state.revision is not None else None)
    forms = editor.operator_forms(lang)
    fitting = {c.name: [f for f in forms if "any" in f.accepts or c.family in f.accepts] for c in state.columns}
    return render(request, "privacy/policy_editor.html", {
        "state": state, "forms": fitting, "usage": usage, "error": error, "profiles": PROFILES,
        "description": draft.description if draft else "", **_labels(lang)}, status_code=status_code)


@router.get(R + "/policy")
def policy_editor(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
                  lang: LangDep, profile: str = "share-conditional") -> Response:
    """Per column the operator and its parameters, the detected entity proposed; preview, save, used by."""
    return _editor_page(request, code, profile, session, settings, actor, lang)


@router.post(R + "/policy/preview")
async def policy_preview(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
                         lang: LangDep) -> Response:
    """The before/after partial (htmx): the draft compiled and run on sample rows; refusals as 4xx."""
    draft = _draft(code, await request.form())
    pv = await run_in_threadpool(editor.preview_policy, session=session, actor=actor, settings=settings,
                                 draft=draft)
    return render(request, "privacy/_policy_preview.html", {"pv": pv, "profile": draft.profile,
                                                             "entities": ENTITIES, **_labels(lang)})


@router.post(R + "/policy")
async def policy_save(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
                      lang: LangDep) -> Response:
    form = await request.form()
    profile = str(form.get("profile", "share-conditional"))
    draft: PolicyDraft | None = None
    try:
        draft = _draft(code, form)
        saved = editor.save_draft(session=session, actor=actor, settings=settings, draft=draft)
    except (PermissionDenied, Unauthenticated):
        raise  # the error page, audited as a denial
    except ShudataError as exc:
        if exc.status >= 500 or profile not in PROFILES:
            raise
        return _editor_page(request, code, profile, session, settings, actor, lang, error=exc.zh if lang != "en"
                            else exc.en, draft=draft, status_code=exc.status)
    flash(request, "success", f"已保存脱敏策略“{saved.name}”（第 {saved.revision} 版）",
          f"Masking policy {saved.name!r} saved (revision {saved.revision})")
    return redirect(f"/privacy/resources/{code}/policy?profile={profile}")


# -- k-anonymity ------------------------------------------------------------------------------

HIERARCHY_KINDS = (("auto", "自动（按列类型）", "automatic (by type)"),
                   ("intervals", "数值区间（如年龄段）", "numeric intervals (e.g. age bands)"),
                   ("regions", "行政区划层级（县→市州→省）", "region-code levels (county → city → province)"),
                   ("dates", "日期层级（日→月→年→年代）", "date levels (day → month → year → decade)"),
                   ("masking", "逐位遮盖字符", "mask characters one by one"))
METRIC_LABELS = {"loss": ("信息损失（Loss）", "information loss"), "entropy": ("非均匀熵", "non-uniform entropy"),
                 "discernibility": ("可辨别度", "discernibility"), "aecs": ("平均等价类大小", "average class size"),
                 "precision": ("精度损失（Prec）", "precision")}


KANON_FIELDS = {"k": "k", "l_diversity": "l", "t_closeness": "t", "suppression": "抑制上限",
                "quasi_identifiers": "准标识符", "builtin": "泛化层次", "metric": "信息损失度量"}


def kanon_chart(row: Any, lang: str) -> dict[str, Any]:
    """The data the risk chart script (static/js/privacy_kanon.js) draws: records per risk band."""
    zh = lang != "en"
    return {"title": "重识别风险分布（记录数）" if zh else "Re-identification risk (records)",
            "x": [b["band"] for b in row.before["histogram"]], "xname": "风险" if zh else "risk",
            "yname": "记录数" if zh else "records",
            "series": [{"name": "匿名化前" if zh else "before",
                        "data": [b["records"] for b in row.before["histogram"]]},
                       *([{"name": "匿名化后" if zh else "after",
                           "data": [b["records"] for b in row.after["histogram"]]}] if row.after else [])]}


def _kanon_request(form: Mapping[str, Any], qis: list[str]) -> KanonRequest:
    def num(name: str, cast: Any) -> Any:
        text = str(form.get(name, "")).strip()
        return cast(text) if text else None

    builtin = {}
    for q in qis:
        kind = str(form.get(f"h_{q}", "auto"))
        widths = [int(w) for w in re.split(r"[,，\s]+", str(form.get(f"w_{q}", ""))) if w.strip()]
        builtin[q] = {"kind": kind, **({"widths": widths} if widths else {})}
    sensitive = str(form.get("sensitive", "")).strip() or None
    return KanonRequest.model_validate({
        "quasi_identifiers": qis, **{k: v for k, v in (("k", num("k", int)), ("suppression", num("suppression", float)))
                                     if v is not None},
        "metric": str(form.get("metric", "loss")), "sensitive": sensitive, "l_diversity": num("l", int),
        "t_closeness": num("t", float), "builtin": builtin})


@router.get(R + "/anonymise")
def kanon_page(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
               lang: LangDep) -> Response:
    """The k-anonymity form (QIs, hierarchy per QI, k, l, t, suppression) and the newest results."""
    res = find_resource(session, code)
    risks = service_models.risk_reports(session=session, actor=actor, resource_id=res.id)
    columns = editor.resource_columns(session=session, actor=actor, settings=settings, resource=code)
    reports = [{"row": r, "chart": json.dumps(kanon_chart(r, lang), ensure_ascii=False)} for r in risks[:3]]
    return render(request, "privacy/kanon.html", {
        "res": res, "columns": columns, "reports": reports, "kinds": HIERARCHY_KINDS, "metrics": METRIC_LABELS,
        "risk_fields": RISK_FIELDS, **_labels(lang)})


@router.post(R + "/anonymise")
async def anonymise(request: Request, code: str, session: SessionDep, settings: SettingsDep, actor: UserDep,
                    lang: LangDep) -> Response:
    form = await request.form()
    qis = [str(q) for q in form.getlist("qi") if str(q).strip()]
    if not qis and form.get("qis"):  # the comma-separated field of the resource page
        qis = [q.strip() for q in str(form["qis"]).replace("，", ",").split(",") if q.strip()]
    try:
        if not qis:
            raise InvalidInput("请至少选择一个准标识符列", "Choose at least one quasi-identifier", code="unknown_qi")
        req = _kanon_request(form, qis)
        await run_in_threadpool(service_models.anonymise_resource, session=session, actor=actor, settings=settings,
                                resource=code, req=req)
        flash(request, "success", "已完成匿名化评估", "Anonymisation assessed")
    except (PermissionDenied, Unauthenticated):
        raise  # the error page, audited as a denial
    except ShudataError as exc:
        flash(request, "danger", exc.zh, exc.en)
    except ValidationError as exc:
        flash(request, "danger", "输入有误：" + editor.zh_errors(exc, KANON_FIELDS),
              "Invalid input: " + "; ".join(validation_messages(exc, "en")))
    except ValueError:  # a number field that is not a number
        flash(request, "danger", "输入有误：k、l 应为整数，t 与抑制上限应为 0 到 1 之间的数",
              "Invalid input: k and l are integers, t and the suppression limit numbers from 0 to 1")
    return redirect(f"/privacy/resources/{code}/anonymise")


# Last: ``{code:path}`` would also match ``<code>/policy`` and ``<code>/anonymise`` of the routes above.
@router.get(R)
def resource_page(request: Request, code: str, session: SessionDep, actor: UserDep, lang: LangDep) -> Response:
    res = find_resource(session, code)
    reports = service.list_scan_reports(session=session, actor=actor, resource=code)
    risks = service_models.risk_reports(session=session, actor=actor, resource_id=res.id)
    charts = [{"row": r, "chart": json.dumps(kanon_chart(r, lang), ensure_ascii=False)} for r in risks[:3]]
    reviews = review.list_reviews(session=session, actor=actor, resource=code)
    newest: dict[str, Any] = {}
    for rv in reviews:  # newest first
        newest.setdefault(rv.column, rv)
    in_force = {c: rv for c, rv in newest.items() if not rv.withdrawn}
    return render(request, "privacy/resource.html", {"res": res, "reports": reports, "entities": ENTITIES,
                                                     "grades": GRADE_LABELS, "risks": charts,
                                                     "risk_fields": RISK_FIELDS, "reviews": reviews,
                                                     "in_force": in_force})
