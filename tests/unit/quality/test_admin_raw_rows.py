"""Quality paths that show a department's raw values follow ``lake.version.read``: the platform
admin has no bypass (only a steward of the owning department handles quarantined rows or sees
value clusters; a check run by anyone else returns counts without the failing values)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select
from tests.unit.quality.conftest import World

from shudata.audit.models import AuditEntry
from shudata.core.errors import PermissionDenied
from shudata.core.types import Actor, Role
from shudata.quality import cleaning_service, quarantine_service, service

PHONES = pa.table({"姓名": ["张三", "李四"], "手机": ["13812345678", "1381234"]})


def _admins(world: World, make_user: Callable[..., Actor]) -> tuple[Actor, Actor]:
    """The platform admin alone, and a platform admin who is also a steward of the department."""
    return (make_user("opsadmin", Role.PLATFORM_ADMIN),
            make_user("root_steward", Role.PLATFORM_ADMIN, Role.DATA_STEWARD, department_id=world.dept))


def test_platform_admin_cannot_list_fix_or_export_quarantined_rows(world: World, ingested: str,
                                                                    make_user: Callable[..., Actor]) -> None:
    admin, admin_steward = _admins(world, make_user)
    with world.rt.transaction() as s:
        row_id = quarantine_service.list_rows(session=s, actor=world.steward, resource=ingested).items[0].id
    calls: list[Callable[[Any], Any]] = [
        lambda s: quarantine_service.list_rows(session=s, actor=admin, resource=ingested),
        lambda s: quarantine_service.export_xlsx(session=s, actor=admin, resource=ingested),
        lambda s: quarantine_service.fix_row(session=s, settings=world.rt.settings, actor=admin, row_id=row_id,
                                             data={"所在区县": "青羊区"}),
        lambda s: quarantine_service.release_fixed(session=s, settings=world.rt.settings, actor=admin,
                                                   resource=ingested),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied) as err, world.rt.transaction() as s:
            call(s)
        assert err.value.details["action"] == "quality.quarantine.manage"
    with world.rt.transaction() as s:
        assert quarantine_service.list_rows(session=s, actor=admin_steward, resource=ingested).total == 2
        assert quarantine_service.export_xlsx(session=s, actor=admin_steward, resource=ingested)


def test_platform_admin_gets_403_on_quarantine_api(client: Any, world: World, ingested: str,
                                                    make_user: Callable[..., Actor],
                                                    token_for: Callable[[str], dict[str, str]]) -> None:
    _admins(world, make_user)
    base = f"/api/v1/quality/resources/{ingested}"
    for path in ("/quarantine", "/quarantine.xlsx", "/clusters?column=名称"):
        r = client.get(base + path, headers=token_for("opsadmin"))
        assert r.status_code == 403, (path, r.text)
        assert client.get(base + path, headers=token_for("root_steward")).status_code == 200, path
    with world.rt.transaction() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.actor == "opsadmin")).all()
    assert [e.outcome for e in denied] == ["denied"] * 3


def test_platform_admin_sees_no_value_clusters(world: World, add_resource: Callable[..., str],
                                                add_version: Callable[[str, pa.Table], int],
                                                make_user: Callable[..., Actor]) -> None:
    admin, admin_steward = _admins(world, make_user)
    code = add_resource(world.dept, "联系人名录", ["姓名", "手机"])
    add_version(code, PHONES)
    with pytest.raises(PermissionDenied) as err, world.rt.transaction() as s:
        cleaning_service.cluster_preview(session=s, settings=world.rt.settings, actor=admin, resource=code,
                                         column="姓名")
    assert "平台管理员也不例外" in err.value.zh
    with world.rt.transaction() as s:
        assert isinstance(cleaning_service.cluster_preview(session=s, settings=world.rt.settings,
                                                           actor=admin_steward, resource=code, column="姓名"), list)


def test_the_platform_admin_cannot_save_run_or_read_rules(world: World, add_resource: Callable[..., str],
                                                         add_version: Callable[[str, pa.Table], int],
                                                         make_user: Callable[..., Actor]) -> None:
    """A rule's failure count is computed on raw values: saving, running and reading rules is for
    the department's staff (a platform admin who is also its steward included), not the admin alone."""
    admin, admin_steward = _admins(world, make_user)
    code = add_resource(world.dept, "联系人名录", ["姓名", "手机"])
    add_version(code, PHONES)
    rules = [{"type": "format", "format": "mobile", "column": "手机"}]
    with world.rt.transaction() as s:
        by_steward = service.check(session=s, settings=world.rt.settings, actor=admin_steward, resource=code)
    calls: list[Callable[[Any], Any]] = [
        lambda s: service.save_rule_set(session=s, actor=admin, resource=code, spec=rules),
        lambda s: service.check(session=s, settings=world.rt.settings, actor=admin, resource=code),
        lambda s: service.get_rule_set(session=s, actor=admin, resource=code),
        lambda s: service.list_runs(session=s, actor=admin, resource=code),
        lambda s: service.get_run(session=s, actor=admin, run_id=by_steward.id),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied) as err, world.rt.transaction() as s:
            call(s)
        assert err.value.code == "quality_raw_data_only" and "平台管理员也不例外" in err.value.zh
    with world.rt.transaction() as s:
        service.save_rule_set(session=s, actor=admin_steward, resource=code, spec=rules)
        run = service.check(session=s, settings=world.rt.settings, actor=admin_steward, resource=code)
    assert run.results[0].failed == 1 and run.results[0].samples == ["1381234"]
