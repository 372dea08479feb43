"""Catalog CRUD: registration, versions, audit, permissions, code allocation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from tests.unit.catalog.conftest import entry_data

from shudata.audit.models import AuditEntry
from shudata.catalog import service
from shudata.catalog.models import CatalogRevision
from shudata.catalog.schemas import ResourceUpdate
from shudata.core.errors import Conflict, NotFound, PermissionDenied


def test_register_allocates_sequential_codes_per_category(rt, world, add_entry):
    a = add_entry(world.steward, "四川省企业信用信息")
    b = add_entry(world.steward, "四川省企业年报信息")
    c = add_entry(world.steward, "四川省食品生产许可信息", category_code="302002")
    assert (a.code, b.code, c.code) == ("302001/000001", "302001/000002", "302002/000001")
    assert a.provider_code == "11510000000000001L" or len(a.provider_code) == 18
    assert a.provider_name == "四川省市场监督管理局" and a.revision == 1


def test_explicit_code_is_kept_and_a_taken_code_is_a_conflict(rt, world, add_entry):
    add_entry(world.steward, "四川省企业信用信息", code="101001/000123")
    with pytest.raises(Conflict):
        add_entry(world.steward, "另一条资源", code="101001/000123")
    nxt = add_entry(world.steward, "四川省企业名录", category_code="101001")
    assert nxt.code == "101001/000124"


def test_update_keeps_every_version_with_changed_fields_and_audit(rt, world, add_entry):
    r = add_entry(world.steward)
    with rt.transaction() as s:
        u = service.update_resource(session=s, actor=world.steward, code=r.code, data=ResourceUpdate(
            abstract="新的摘要", update_cycle="每日", comment="按省级目录修订"))
    assert u.revision == 2 and u.update_cycle == "每日"
    with rt.transaction() as s:
        hist = service.history(session=s, actor=world.user, code=r.code)
        audit = s.scalars(select(AuditEntry).where(AuditEntry.resource_id == r.code)).all()
    assert [h.revision for h in hist] == [2, 1]
    assert hist[0].changed_fields == ["abstract", "update_cycle"]
    assert hist[0].comment == "按省级目录修订" and hist[0].actor == "sc_steward"
    assert hist[0].snapshot["abstract"] == "新的摘要" and hist[1].snapshot["abstract"] != "新的摘要"
    assert [a.action for a in audit] == ["catalog.resource.create", "catalog.resource.update"]


def test_update_without_changes_makes_no_version(rt, world, add_entry):
    r = add_entry(world.steward)
    with rt.transaction() as s:
        u = service.update_resource(session=s, actor=world.steward, code=r.code, data=ResourceUpdate(name=r.name))
        n = len(s.scalars(select(CatalogRevision)).all())
    assert u.revision == 1 and n == 1


@pytest.mark.parametrize("who", [
    "other_steward",  # steward of another department
    "user",  # department user of the provider department
])
def test_only_the_provider_steward_may_edit(rt, world, add_entry, who):
    r = add_entry(world.steward)
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        service.update_resource(session=s, actor=getattr(world, who), code=r.code,
                                data=ResourceUpdate(abstract="篡改"))
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        service.delete_resource(session=s, actor=getattr(world, who), code=r.code)


@pytest.mark.parametrize(("who", "dept"), [
    ("user", "market"),  # a department user cannot register
    ("other_steward", "market"),  # a steward cannot register for another department
])
def test_registration_denials(rt, world, who, dept):
    data = entry_data(provider_department_id=getattr(world, dept))
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        service.register_resource(session=s, actor=getattr(world, who), data=data)


def test_admin_registers_for_any_department(rt, world):
    with rt.transaction() as s:
        r = service.register_resource(session=s, actor=world.admin, data=entry_data(
            "四川省居民户籍信息", provider_department_id=world.police))
    assert r.provider_name == "四川省公安厅"


def test_not_shared_needs_a_legal_basis():
    with pytest.raises(ValidationError, match="法律法规"):
        entry_data(sharing={"type": 3, "method": "接口"})
    ok = entry_data(sharing={"type": 3, "condition": "《中华人民共和国保守国家秘密法》", "method": "接口"})
    assert ok.sharing.type == 3


def test_soft_delete_hides_entry_but_keeps_history(rt, world, add_entry):
    r = add_entry(world.steward, alias="qyxy")
    with rt.transaction() as s:
        service.delete_resource(session=s, actor=world.steward, code=r.code, comment="停止提供")
    with rt.transaction() as s:
        assert service.list_resources(session=s, actor=world.user).total == 0
        with pytest.raises(NotFound):
            service.get_resource(session=s, actor=world.user, key=r.code)
        revs = s.scalars(select(CatalogRevision).where(CatalogRevision.resource_id == r.id)).all()
    assert [v.snapshot["is_deleted"] for v in revs] == [False, True]


@pytest.mark.parametrize("key", ["code", "alias", "id", "name"])
def test_get_by_code_alias_id_or_name(rt, world, add_entry, key):
    r = add_entry(world.steward, alias="qyxy")
    value = {"code": r.code, "alias": "qyxy", "id": str(r.id), "name": r.name}[key]
    with rt.transaction() as s:
        assert service.get_resource(session=s, actor=world.user, key=value).id == r.id


def test_alias_must_be_unique(rt, world, add_entry):
    add_entry(world.steward, alias="qyxy")
    with pytest.raises(Conflict):
        add_entry(world.steward, "四川省企业年报信息", alias="qyxy")


def test_code_allocation_retries_after_a_collision(rt, world, add_entry, monkeypatch):
    from shudata.catalog import codes

    add_entry(world.steward)  # 302001/000001
    real = codes.highest_code
    calls: list[str | None] = []

    def stale_then_real(session, prefix):  # the first read misses a concurrent insert
        calls.append(prefix)
        return None if len(calls) == 1 else real(session, prefix)

    monkeypatch.setattr(codes, "highest_code", stale_then_real)
    r = add_entry(world.steward, "四川省企业年报信息")
    assert r.code == "302001/000002" and len(calls) == 2
