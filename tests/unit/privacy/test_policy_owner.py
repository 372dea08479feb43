"""A resource's masking policy is its provider department's decision (issue #14).

The attack: the consumer department's steward (or the platform admin) saved the policy named
``<code>-share-conditional`` that sharing delivers another department's resource with, and the
consumer then received the legal representative as ``**`` instead of ``张*``, or 17 of 18 ID
digits. Here, through the HTTP API: the attempts, refused 403 (bilingual, audited) and the
delivered values unchanged; every look-alike of the name refused the same way; a policy saved
ahead of a resource refused; the provider's steward allowed. Then unbound policies: a
department's own and the platform-wide ones, each changed only by its owner.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.catalog.models import CatalogResource
from shudata.catalog.writes import write_version
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.portal.gate import policy_name as portal_policy_name
from shudata.privacy.models import PrivacyPolicy
from shudata.privacy.ownership import resource_policy_name
from shudata.sharing import service as sharing
from shudata.sharing.masking import policy_name as sharing_policy_name
from shudata.sharing.schemas import DecisionCreate, RequestCreate

CODE = "201001/000002"
NAME = "201001-000002-share-conditional"  # the name sharing looks the grant's policy up by
FIELDS = ["法定代表人", "身份证号", "行政区划"]
ID = "513221199001016433"
TABLE = {"法定代表人": ["张三", "李四", "王五"], "身份证号": [ID, "510104198503120021", "510105197711230418"],
         "行政区划": ["510104", "510104", "510105"]}
PROVIDER_POLICY = {"name": NAME, "profile": "share-conditional",
                   "columns": {"法定代表人": {"op": "partial_mask", "keep_head": 1},
                               "身份证号": {"op": "partial_mask", "keep_head": 6, "keep_tail": 4}}}
WEAKER = {"name": NAME, "profile": "share-conditional",
          "columns": {"法定代表人": {"op": "keep"},
                      "身份证号": {"op": "partial_mask", "keep_head": 9, "keep_tail": 8}}}
DELIVERED = ["张*", "513221********6433"]


@dataclass
class Parties:
    provider: int
    consumer: int


@pytest.fixture
def parties(rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor]) -> Parties:
    """The provider's resource with its policy, and the consumer's grant on it."""
    import pyarrow as pa

    from shudata.privacy.schemas import PolicySave
    from shudata.privacy.service import save_policy

    provider, consumer = make_department("省市场监管局"), make_department("省税务局")
    p_steward = make_user("p_steward", Role.DATA_STEWARD, department_id=provider)
    make_user("c_steward", Role.DATA_STEWARD, department_id=consumer)
    c_user = make_user("c_user", Role.DEPT_USER, department_id=consumer)
    make_user("opsadmin", Role.PLATFORM_ADMIN)
    with rt.transaction() as s:
        res = CatalogResource(code=CODE, name="企业登记详细信息", classification="基础", abstract="企业登记",
                              provider_department_id=provider, format_category="数据库", format_type="csv",
                              information_items=[{"name": f, "data_type": "C"} for f in FIELDS], sharing_type=2,
                              sharing_condition="仅限税收征管使用", sharing_method="接口", open_type="不予开放",
                              update_cycle="每月")
        s.add(res)
        s.flush()
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=res,
                      batches_or_table=pa.table(TABLE), source_name="企业.csv", source_format="csv")
        save_policy(session=s, actor=p_steward, settings=rt.settings, data=PolicySave(policy=PROVIDER_POLICY))
        req = sharing.request_access(session=s, actor=c_user, settings=rt.settings, data=RequestCreate(
            resource=CODE, fields=FIELDS, purpose="业务协同", basis="《税收征收管理法》", use_from=dt.date.today(),
            use_until=dt.date.today() + dt.timedelta(days=30)))
        sharing.decide(session=s, actor=p_steward, settings=rt.settings, request_id=req.id,
                       data=DecisionCreate(decision="approve", masking_profile="share-conditional"))
    return Parties(provider, consumer)


def _delivered(client: Any, token_for: Callable[[str], dict[str, str]]) -> list[str]:
    params = {"resource": CODE, "filter": "行政区划 = '510104'", "sort": "身份证号"}
    r = client.get("/api/v1/shared/rows", params=params, headers=token_for("c_user"))
    assert r.status_code == 200, r.text
    return [str(v) for v in r.json()["rows"][-1][:2]]


def _save(client: Any, headers: dict[str, str], policy: dict[str, Any], lang: str = "zh", **extra: Any) -> Any:
    return client.post(f"/api/v1/privacy/policies?lang={lang}", json={"policy": policy, **extra}, headers=headers)


def _denials(rt: Runtime, actor: str) -> list[AuditEntry]:
    with rt.transaction() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.actor == actor, AuditEntry.outcome == "denied")))


def _stored(rt: Runtime, name: str) -> PrivacyPolicy | None:
    with rt.transaction() as s:
        row = s.scalar(select(PrivacyPolicy).where(PrivacyPolicy.name == name))
        if row is not None:
            s.expunge(row)
        return row


def test_the_name_rule_is_the_one_delivery_looks_up(rt: Runtime, parties: Parties) -> None:
    with rt.transaction() as s:
        res = s.scalar(select(CatalogResource).where(CatalogResource.code == CODE))
        assert res is not None
        assert resource_policy_name(res, "share-conditional") == sharing_policy_name(res, "share-conditional") == NAME
        assert resource_policy_name(res, "open") == portal_policy_name(res)


@pytest.mark.parametrize("attacker", ["c_steward", "opsadmin"])
def test_others_cannot_weaken_a_resource_policy(client: Any, rt: Runtime, parties: Parties,
                                                token_for: Callable[[str], dict[str, str]], attacker: str) -> None:
    """The finding's attack, by the consumer's steward and by the platform admin."""
    assert _delivered(client, token_for) == DELIVERED
    headers = token_for(attacker)
    r = _save(client, headers, WEAKER)
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert err["code"] == "policy_not_owner" and "提供方部门的数据管理员" in err["message"]
    assert err["details"]["resource_id"] == CODE
    r = _save(client, headers, WEAKER, lang="en")
    assert r.status_code == 403 and "provider department" in r.json()["error"]["message"]
    denied = _denials(rt, attacker)
    assert [d.action for d in denied] == ["privacy.policy.manage.department"] * 2
    assert denied[0].resource_id == CODE and json.loads(denied[0].details)["status"] == 403
    row = _stored(rt, NAME)
    assert row is not None and row.revision == 1 and row.created_by == "p_steward"
    assert _delivered(client, token_for) == DELIVERED


@pytest.mark.parametrize("name", [
    "201001-000002-SHARE-CONDITIONAL",    # case
    " 201001-000002-share-conditional",   # a leading blank
    "201001-000002-share-conditional ",   # a trailing blank
    "２０１００１-000002-share-conditional",  # full-width digits
    "201001_000002-share-conditional",    # _ for -
    "201001-000002-share_conditional",
    "201001-000002-open",                 # the portal's policy of the same resource
    "201001-000002-mine",                 # any name under the resource code
])
def test_look_alike_names_are_bound_to_the_resource(client: Any, rt: Runtime, parties: Parties,
                                                    token_for: Callable[[str], dict[str, str]], name: str) -> None:
    policy = {**WEAKER, "name": name}
    for attacker in ("c_steward", "opsadmin"):
        r = _save(client, token_for(attacker), policy)
        assert r.status_code == 403 and r.json()["error"]["code"] == "policy_not_owner", (attacker, r.text)
    assert _stored(rt, name) is None
    r = _save(client, token_for("p_steward"), {**PROVIDER_POLICY, "name": name,
                                               "profile": "open" if name.endswith("open") else "share-conditional"})
    if name in ("201001-000002-open", "201001-000002-mine"):  # names of its own, not look-alikes
        assert r.status_code == 200, r.text
    else:  # the provider is told to use the exact name instead of a twin nobody looks up
        assert r.status_code == 422 and r.json()["error"]["code"] == "policy_name_lookalike", r.text
        assert r.json()["error"]["details"]["expected"] == NAME
    assert _delivered(client, token_for) == DELIVERED


def test_a_policy_cannot_be_saved_ahead_of_its_resource(client: Any, rt: Runtime, parties: Parties,
                                                        token_for: Callable[[str], dict[str, str]]) -> None:
    """Dept B may not pre-register the policy of a code dept A registers later."""
    future = {**WEAKER, "name": "201001-000099-share-conditional"}
    for who in ("c_steward", "opsadmin", "p_steward"):
        r = _save(client, token_for(who), future)
        assert r.status_code == 422 and r.json()["error"]["code"] == "policy_resource_unknown", r.text
    assert _stored(rt, "201001-000099-share-conditional") is None


def test_the_provider_steward_manages_its_resource_policy(client: Any, rt: Runtime, parties: Parties,
                                                          token_for: Callable[[str], dict[str, str]]) -> None:
    steward = token_for("p_steward")
    stricter = {**PROVIDER_POLICY, "columns": {"法定代表人": {"op": "mask_all"},
                                               "身份证号": {"op": "partial_mask", "keep_head": 6, "keep_tail": 4}}}
    r = _save(client, steward, stricter)
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 2
    assert _delivered(client, token_for) == ["**", "513221********6433"]
    # validated against the resource's columns (read from the version's schema, not its rows)
    r = _save(client, steward, {**stricter, "columns": {"身份证": {"op": "mask_all"}}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "policy_unknown_column"
    r = _save(client, steward, {**stricter, "profile": "open"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "policy_profile_mismatch"
    with rt.transaction() as s:
        saved = s.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.policy.save")).all()
    assert json.loads(saved[-1].details)["resources"] == [CODE]


def test_unbound_policies_are_changed_by_their_owner_only(client: Any, rt: Runtime, parties: Parties,
                                                         token_for: Callable[[str], dict[str, str]]) -> None:
    admin, provider, consumer = token_for("opsadmin"), token_for("p_steward"), token_for("c_steward")
    platform = {"name": "通用-share", "profile": "share-conditional", "entities": {"PERSON_NAME": {"op": "mask_all"}}}
    own = {"name": "市场监管-导出", "profile": "internal", "columns": {"身份证号": {"op": "mask_all"}}}
    assert _save(client, admin, platform, resource=CODE).status_code == 200  # schema only: the admin may
    assert _save(client, provider, own).status_code == 200
    for headers, policy in ((provider, platform), (consumer, platform), (admin, own), (consumer, own)):
        r = _save(client, headers, {**policy, "entities": {}, "columns": {}})
        assert r.status_code == 403 and r.json()["error"]["code"] == "policy_not_owner", r.text
    assert _stored(rt, "通用-share").revision == 1  # type: ignore[union-attr]
    assert _stored(rt, "市场监管-导出").revision == 1  # type: ignore[union-attr]
    assert _save(client, admin, platform).json()["revision"] == 2
    assert _save(client, provider, own).json()["revision"] == 2
    assert len(_denials(rt, "c_steward")) == 2 and len(_denials(rt, "opsadmin")) == 1
