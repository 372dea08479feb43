"""Decrypting SM4 output follows the raw-data rule (decision 2026-12-06, convention 16).

Ciphertext is bound to the resource it came from (``k1@<code>:…``); only staff of that
resource's provider department decrypt it — not the platform admin who holds the keys, not
another department, not by editing the binding. Old unbound tokens (``k1:…``) need their
origin named, and the key must be one of that resource's own policies. Refusals are 4xx,
zh-CN first, audited; nothing is decrypted for anyone refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select
from tests.unit.privacy.conftest import World, make_resource

from shudata.audit.models import AuditEntry
from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.privacy import keys, service
from shudata.privacy.operators.udfs import sm4_key, sm4_prefix
from shudata.privacy.schemas import PolicySave
from shudata.security.crypto.sm4_vec import encrypt_many

CODE = "101001/000009"
OTHER_CODE = "101001/000077"
VALUES = ["成都市武侯区天府大道1号", "绵阳市涪城区临园路2号"]
Tokens = Callable[[str], dict[str, str]]


def _tokens(rt: Runtime, binding: str | None, key_id: str = "k1") -> list[str | None]:
    with rt.transaction() as s:
        material = keys.load(s, rt.settings, [key_id])[key_id]
    out = encrypt_many(sm4_key(material, binding), pa.array(VALUES), prefix=sm4_prefix(key_id, binding))
    return list(out.to_pylist())


@pytest.fixture
def other_dept(rt: Runtime, world: World, make_department: Callable[..., int],
               make_user: Callable[..., Actor]) -> Actor:
    """A steward of another department, which provides a resource of its own."""
    dept = make_department("省民政厅")
    steward = make_user("steward_c", Role.DATA_STEWARD, department_id=dept)
    with rt.transaction() as s:
        s.add(make_resource(OTHER_CODE, "welfare", "低保名单", dept, ["地址"]))
    return steward


def _decrypt(rt: Runtime, actor: Actor, tokens: list[str | None], resource: str | None = None) -> list[str | None]:
    with rt.transaction() as s:
        return service.decrypt_values(session=s, actor=actor, settings=rt.settings, tokens=tokens, resource=resource)


def test_bound_tokens_decrypt_for_the_provider_only(rt: Runtime, world: World, other_dept: Actor) -> None:
    tokens = [*_tokens(rt, CODE), None]
    assert _decrypt(rt, world.steward, tokens) == [*VALUES, None]
    for who in (world.admin, world.outsider, other_dept):  # the admin holds the keys: still refused
        with pytest.raises(PermissionDenied, match="平台管理员也不例外") as exc:
            _decrypt(rt, who, tokens)
        assert exc.value.details == {"action": "privacy.decrypt", "resource_type": "catalog.resource",
                                     "resource_id": CODE}
    with pytest.raises(PermissionDenied):  # naming another resource does not help
        _decrypt(rt, world.admin, tokens, resource="citizens")


def test_editing_the_binding_does_not_move_a_token_to_another_department(rt: Runtime, world: World,
                                                                         other_dept: Actor) -> None:
    forged = [t.replace(f"@{CODE}:", f"@{OTHER_CODE}:") for t in _tokens(rt, CODE) if t]
    with pytest.raises(InvalidInput, match="无法解密") as exc:
        _decrypt(rt, other_dept, list(forged))  # the other department may decrypt its own: the key says no
    assert exc.value.code == "decryption_failed"
    with pytest.raises(NotFound):
        _decrypt(rt, world.steward, [t.replace(f"@{OTHER_CODE}:", "@101001/999999:") for t in forged])


def test_unbound_tokens_need_their_origin_and_its_key(rt: Runtime, world: World) -> None:
    old = _tokens(rt, None)
    with pytest.raises(InvalidInput, match="请同时指明来源资源") as exc:
        _decrypt(rt, world.steward, old)
    assert exc.value.code == "decrypt_resource_required"
    with pytest.raises(PermissionDenied) as denied:  # k1 is not (yet) a key of the resource's own policies
        _decrypt(rt, world.steward, old, resource="citizens")
    assert denied.value.code == "decrypt_key_not_bound"
    policy = {"name": f"{CODE.replace('/', '-')}-share-conditional", "profile": "share-conditional",
              "columns": {"地址": {"op": "sm4_encrypt", "key_id": "k1"}}}
    with rt.transaction() as s:
        service.save_policy(session=s, actor=world.steward, settings=rt.settings,
                            data=PolicySave(policy=policy, resource="citizens"))
    assert _decrypt(rt, world.steward, old, resource="citizens") == VALUES
    for who in (world.admin, world.outsider):
        with pytest.raises(PermissionDenied):
            _decrypt(rt, who, old, resource="citizens")


def test_a_bound_token_must_agree_with_the_named_resource(rt: Runtime, world: World, other_dept: Actor) -> None:
    with pytest.raises(InvalidInput) as exc:
        _decrypt(rt, world.steward, _tokens(rt, CODE), resource="welfare")
    assert exc.value.code == "decrypt_resource_mismatch"


def test_not_a_token_is_a_422_not_a_crash(rt: Runtime, world: World) -> None:
    with pytest.raises(InvalidInput) as exc:
        _decrypt(rt, world.steward, ["510104199001011234"])
    assert exc.value.code == "not_sm4_ciphertext"


def test_the_api_refuses_the_admin_in_chinese_and_audits_both_outcomes(client: Any, rt: Runtime, world: World,
                                                                       token_for: Tokens) -> None:
    tokens = _tokens(rt, CODE)
    r = client.post("/api/v1/privacy/decrypt", json={"tokens": tokens}, headers=token_for("opsadmin"))
    assert r.status_code == 403, r.text
    assert "平台管理员也不例外" in r.json()["error"]["message"] and VALUES[0] not in r.text
    r = client.post("/api/v1/privacy/decrypt", json={"tokens": tokens}, headers=token_for("steward_a"))
    assert r.status_code == 200 and r.json() == VALUES
    r = client.post("/api/v1/privacy/decrypt", json={"tokens": _tokens(rt, None)}, headers=token_for("steward_a"))
    assert r.status_code == 422 and "来源资源" in r.json()["error"]["message"]
    with rt.transaction() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.decrypt")
                         .order_by(AuditEntry.id)).all()
    assert [(e.actor, e.outcome) for e in rows] == [("opsadmin", "denied"), ("steward_a", "success"),
                                                    ("steward_a", "rejected")]


def test_file_masking_output_is_unbound(rt: Runtime, world: World) -> None:
    from shudata.privacy.compile import compile_plan
    from shudata.privacy.policy import Policy

    policy = Policy.parse({"name": "f", "profile": "share-conditional",
                           "columns": {"地址": {"op": "sm4_encrypt", "key_id": "k1"}}})
    table = pa.table({"地址": VALUES})
    with rt.transaction() as s:
        ring = keys.load(s, rt.settings, ["k1"])
    for binding, prefix in ((None, "k1:"), (CODE, f"k1@{CODE}:")):
        plan = compile_plan(policy, table.schema, keys=ring, binding=binding)
        udf = next(u for u in plan.udfs if u.name == "shudata_sm4")
        out = udf.fn(table.column("地址").combine_chunks(), pa.array(["k1"]))
        assert all(v.startswith(prefix) for v in out.to_pylist())
