"""The masking-policy editor: operator forms, preview (real masking on a sample), Chinese refusals
with nothing saved, save as the name delivery uses, and which grants use the policy."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from tests.unit.privacy.conftest import World

from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.privacy import editor, labels
from shudata.privacy.editor_schemas import PolicyDraft
from shudata.privacy.models import PrivacyPolicy
from shudata.sharing import delivery
from shudata.sharing import service as sharing
from shudata.sharing.schemas import RequestCreate

CODE = "101001/000009"
NAME = "101001-000009-share-conditional"
TODAY = dt.date.today()
HEX = re.compile(r"^[0-9a-f]+$")


def _preview(client: Any, headers: dict[str, str], columns: dict[str, Any], profile: str = "share-conditional"
             ) -> Any:
    return client.post("/api/v1/privacy/policies/preview", headers=headers,
                       json={"resource": "citizens", "profile": profile, "columns": columns})


# column, operator config, what must hold of (before, after) for every sample row
CASES: list[tuple[str, dict[str, Any], Callable[[Any, Any], bool]]] = [
    ("手机号", {"op": "partial_mask", "keep_head": "3", "keep_tail": "4"},  # form text, coerced
     lambda b, a: a == b[:3] + "****" + b[-4:]),
    ("姓名", {"op": "mask_all"}, lambda b, a: a == "*" * len(b)),
    ("身份证号", {"op": "pseudonym", "key_id": "k1"}, lambda b, a: a != b and len(a) == 32 and HEX.match(a)),
    ("银行卡号", {"op": "sm4_encrypt", "key_id": "k1"}, lambda b, a: a.startswith("k1@101001/000009:") and b not in a),
    ("身份证号", {"op": "fpe_pseudonym", "key_id": "k1", "kind": "resident_id"},
     lambda b, a: len(a) == 18 and a != b),
    ("收入", {"op": "number_band", "width": 1000},
     lambda b, a: a == f"{int(b // 1000) * 1000}-{int(b // 1000) * 1000 + 999}"),
    ("出生日期", {"op": "date_generalize", "level": "year"}, lambda b, a: str(a).startswith(str(b.year))
     and str(a) != b.isoformat()),
    ("区划代码", {"op": "region_generalize", "level": "city"}, lambda b, a: a == b[:4] + "00"),
    ("收入", {"op": "bucket", "boundaries": "3000, 8000", "labels": "低, 中, 高"},
     lambda b, a: a == ("低" if b < 3000 else "中" if b < 8000 else "高")),
    ("地址", {"op": "suppress"}, lambda b, a: a is None),
    ("收入", {"op": "round", "digits": "-2"}, lambda b, a: a == round(b, -2)),
    ("收入", {"op": "noise", "scale": "50"}, lambda b, a: a != b),
    ("姓名", {"op": "synthetic", "key_id": "k1", "kind": "name"}, lambda b, a: a != b and a),
    ("出生日期", {"op": "date_shift", "key_id": "k1", "entity_column": "身份证号", "max_days": "30"},
     lambda b, a: a != b and abs((dt.date.fromisoformat(str(a)[:10]) - b).days) <= 30),
    ("收入", {"op": "keep"}, lambda b, a: a == b),
]


def test_every_parameter_of_every_operator_has_a_chinese_label() -> None:
    for form in editor.operator_forms():
        assert form.label != form.name, form.name
        for f in form.fields:
            assert f.name in labels.PARAMS, (form.name, f.name)
            assert re.search(r"[\u4e00-\u9fff]", f.label), (form.name, f.name)
            for value, label in f.choices:
                assert label != value or not value.isascii(), (form.name, f.name, value)


def test_preview_masks_each_operator_for_real(client: Any, world: World, token_for: Any) -> None:
    headers = token_for("steward_a")
    seen_ops = set()
    for column, op, holds in CASES:
        r = _preview(client, headers, {column: op})
        assert r.status_code == 200, (op, r.text)
        body = r.json()
        assert body["operators"][column] == op["op"]
        assert len(body["before"]) == len(body["after"]) == editor.PREVIEW_ROWS
        for b, a in zip(body["before"], body["after"], strict=True):
            before = b[column]
            if column == "出生日期":
                before = dt.date.fromisoformat(before)
            assert holds(before, a[column]), (op, before, a[column])
        if op["op"] != "keep":
            assert body["changed"][column] > 0, op
        seen_ops.add(op["op"])
    assert len(seen_ops) >= 15  # every operator but the file/mapping hierarchy


def test_preview_runs_the_profile_defaults_on_detected_columns(client: Any, world: World, token_for: Any) -> None:
    body = _preview(client, token_for("steward_a"), {}, profile="open").json()
    assert body["operators"]["身份证号"] == "suppress"  # detected resident ID, open profile default
    assert all(row["身份证号"] is None for row in body["after"])
    assert body["gate"]["passed"] is True


@pytest.mark.parametrize("who", ["user_b", "opsadmin"])  # another department; the platform admin
def test_preview_and_editor_never_show_the_sample_to_who_may_not_read_it_raw(client: Any, world: World,
                                                                               token_for: Any, who: str) -> None:
    ids = world.table.column("身份证号").to_pylist()
    r = _preview(client, token_for(who), {"手机号": {"op": "mask_all"}})
    assert r.status_code == 403
    assert not any(v in r.text for v in ids)
    r = client.get("/api/v1/privacy/editor", params={"resource": "citizens"}, headers=token_for(who))
    assert r.status_code == 403


BAD = [  # operator config, words the Chinese message must hold
    ({"op": "partial_mask", "keep_head": "3", "keep_tail": "40"}, "保留末尾字符数应不大于 32"),
    ({"op": "partial_mask", "keep_head": "三"}, "保留开头字符数应为整数"),
    ({"op": "pseudonym"}, "密钥为必填项"),
    ({"op": "bucket", "boundaries": "8000, 3000"}, "分界点必须严格递增"),
    ({"op": "date_generalize", "level": "week"}, "泛化层级应为以下之一"),
    ({"op": "nope"}, "脱敏算子“nope”不存在"),
    ({"op": "partial_mask", "keep_head": "1", "colour": "red"}, "不是该算子的参数"),
]


@pytest.mark.parametrize(("op", "words"), BAD)
def test_bad_parameters_are_refused_in_chinese_and_nothing_is_saved(client: Any, world: World, token_for: Any,
                                                                     rt: Runtime, op: dict[str, Any],
                                                                     words: str) -> None:
    headers = token_for("steward_a")
    for url in ("/api/v1/privacy/policies/draft", "/api/v1/privacy/policies/preview"):
        r = client.post(url, headers=headers, json={"resource": "citizens", "columns": {"手机号": op}})
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert words in err["message"], err
        assert "手机号" in err["message"]
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PrivacyPolicy)) == 0


def test_type_mismatch_unknown_column_and_missing_key(client: Any, world: World, token_for: Any, rt: Runtime
                                                      ) -> None:
    headers = token_for("steward_a")
    url = "/api/v1/privacy/policies/draft"
    r = client.post(url, headers=headers, json={"resource": "citizens", "columns": {"姓名": {"op": "round"}}})
    assert r.status_code == 422 and "不能用于列“姓名”" in r.json()["error"]["message"]
    r = client.post(url, headers=headers, json={"resource": "citizens", "columns": {"电话": {"op": "mask_all"}}})
    assert r.status_code == 422 and "没有这些列：电话" in r.json()["error"]["message"]
    r = client.post(url, headers=headers, json={"resource": "citizens",
                                                "columns": {"姓名": {"op": "pseudonym", "key_id": "k404"}}})
    assert r.status_code == 404 and "k404" in r.json()["error"]["message"]
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PrivacyPolicy)) == 0


def _grant(rt: Runtime, reader: Actor, profile_fields: list[str]) -> None:
    with rt.transaction() as s:
        sharing.request_access(session=s, actor=reader, settings=rt.settings, data=RequestCreate(
            resource=CODE, fields=profile_fields, purpose="业务协同", basis="《政务信息资源共享管理暂行办法》",
            use_from=TODAY, use_until=TODAY + dt.timedelta(days=30)))


def test_save_revisions_usage_and_delivery_follow_the_policy(client: Any, world: World, token_for: Any,
                                                             rt: Runtime, make_user: Callable[..., Actor]) -> None:
    headers = token_for("steward_a")
    draft = {"resource": "citizens", "profile": "share-conditional",
             "columns": {"手机号": {"op": "partial_mask", "keep_head": 3, "keep_tail": 2, "char": "#"}}}
    r = client.post("/api/v1/privacy/policies/draft", headers=headers, json=draft)
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["revision"]) == (NAME, 1)
    assert client.post("/api/v1/privacy/policies/draft", headers=headers, json=draft).json()["revision"] == 2
    usage = client.get(f"/api/v1/privacy/policies/{NAME}/usage", headers=headers).json()
    assert usage["uses"] == []

    _grant(rt, world.outsider, ["姓名", "手机号"])  # 无条件共享: granted at once, share-conditional
    usage = client.get(f"/api/v1/privacy/policies/{NAME}/usage", headers=headers).json()
    assert [(u["kind"], u["label"], u["state"]) for u in usage["uses"]] == [("grant", "省统计局", "active")]
    assert client.get(f"/api/v1/privacy/policies/{NAME}/usage", headers=token_for("user_b")).status_code == 403

    with rt.transaction() as s:  # what the grant delivers is masked by the saved policy
        view = delivery.grant_view(session=s, settings=rt.settings, actor=world.outsider, resource_key=CODE)
        got = pq.read_table(delivery.masked_file(rt.settings, view)).column("手机号").to_pylist()
    raw = world.table.column("手机号").to_pylist()
    assert sorted(got) == sorted(m[:3] + "######" + m[-2:] for m in raw)

    state = client.get("/api/v1/privacy/editor", params={"resource": "citizens"}, headers=headers).json()
    cols = {c["name"]: c for c in state["columns"]}
    assert state["revision"] == 2 and cols["手机号"]["source"] == "policy"
    assert cols["手机号"]["params"]["char"] == "#"
    assert cols["身份证号"]["entity"] == "CN_RESIDENT_ID" and cols["身份证号"]["source"] == "proposed"
    assert cols["身份证号"]["op"] == "partial_mask"  # share-conditional's default for resident IDs


def test_operator_and_profile_labels_in_the_api(client: Any, world: World, token_for: Any) -> None:
    ops = {o["name"]: o for o in client.get("/api/v1/privacy/operators").json()}
    assert ops["partial_mask"]["label"] == "部分遮盖"
    assert {f["name"] for f in ops["partial_mask"]["fields"]} == {"keep_head", "keep_tail", "char"}
    profiles = {p["name"]: p["label"] for p in client.get("/api/v1/privacy/profiles").json()}
    assert profiles == {"open": "公共数据开放", "share-conditional": "有条件共享", "trade": "数据交易",
                        "internal": "部门内部"}


def test_a_department_user_may_not_save_the_policy(client: Any, world: World, token_for: Any,
                                                   make_user: Callable[..., Actor]) -> None:
    make_user("user_a", Role.DEPT_USER, department_id=world.dept_a)
    r = client.post("/api/v1/privacy/policies/draft", headers=token_for("user_a"),
                    json={"resource": "citizens", "columns": {"手机号": {"op": "mask_all"}}})
    assert r.status_code == 403


def test_draft_schema_refuses_unknown_profile() -> None:
    with pytest.raises(ValueError, match="profile"):
        PolicyDraft.model_validate({"resource": "x", "profile": "public"})


@pytest.mark.parametrize("where", ["draft", "save", "save_text", "mask"])
def test_no_policy_from_the_web_reads_a_server_file(client: Any, world: World, token_for: Any, rt: Runtime,
                                                    tmp_path: Any, where: str) -> None:
    """A hierarchy file would be read on the server and its rows kept in the policy: web and API refuse it."""
    secret = tmp_path / "secret.csv"
    secret.write_text("513427;机密\n", encoding="utf-8")
    op = {"op": "hierarchy", "file": str(secret), "level": 1}
    policy = {"name": "p-file", "profile": "internal", "columns": {"区划代码": op}}
    headers = token_for("steward_a")
    if where == "draft":
        r = client.post("/api/v1/privacy/policies/draft", headers=headers,
                        json={"resource": "citizens", "columns": {"区划代码": op}})
    elif where == "save":
        r = client.post("/api/v1/privacy/policies", headers=headers, json={"policy": policy})
    elif where == "save_text":
        text = f"name: p-file\nprofile: internal\ncolumns:\n  区划代码: {{op: hierarchy, file: '{secret}'}}\n"
        r = client.post("/api/v1/privacy/policies", headers=headers, json={"text": text})
    else:
        r = client.post("/api/v1/privacy/mask", headers=headers, json={"resource": "citizens", "policy": policy})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] in ("policy_server_file", "bad_operator_params")
    assert "服务器" in r.json()["error"]["message"] and "机密" not in r.text
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PrivacyPolicy)) == 0
    assert all(f.name != "file" for form in editor.operator_forms() for f in form.fields)


def test_usage_lists_the_portal_publications_gated_with_the_policy(client: Any, world: World, token_for: Any,
                                                                   rt: Runtime) -> None:
    from shudata.catalog.models import CatalogResource
    from shudata.portal.models import PortalPublication

    headers = token_for("steward_a")
    r = client.post("/api/v1/privacy/policies/draft", headers=headers,
                    json={"resource": "citizens", "profile": "open", "columns": {"手机号": {"op": "mask_all"}}})
    assert r.status_code == 200, r.text
    with rt.transaction() as s:
        res = s.scalar(select(CatalogResource).where(CatalogResource.code == CODE))
        assert res is not None
        for version, policy, status in ((1, "default-open", "withdrawn"), (1, "101001-000009-open", "published")):
            s.add(PortalPublication(resource_id=res.id, version=version, status=status, policy=policy,
                                    created_by="steward_a"))
    usage = client.get("/api/v1/privacy/policies/101001-000009-open/usage", headers=headers).json()
    assert [(u["kind"], u["label"], u["state"]) for u in usage["uses"]] == [("publication", "v1", "published")]
    assert usage["uses"][0]["href"] == "/portal/datasets/101001-000009"
    # the share-conditional policy of the same resource is not used by the portal
    client.post("/api/v1/privacy/policies/draft", headers=headers, json={"resource": "citizens"})
    assert client.get(f"/api/v1/privacy/policies/{NAME}/usage", headers=headers).json()["uses"] == []
    assert client.get("/api/v1/privacy/policies/nope/usage", headers=headers).status_code == 404
