"""Quality reports are visible to every logged-in user, but their sample failing values are the data
itself (often personal): only readers of the resource's data see them."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
from tests.unit.quality.conftest import World

from shudata.quality import service

PHONES = pa.table({"姓名": ["张三", "李四"], "手机": ["13812345678", "1381234"]})


def test_outsider_sees_counts_but_not_failing_values(world: World, add_resource: Callable[..., str],
                                                     add_version: Callable[[str, pa.Table], int]) -> None:
    code = add_resource(world.dept, "联系人名录", ["姓名", "手机"])
    add_version(code, PHONES)
    with world.rt.transaction() as s:
        service.save_rule_set(session=s, actor=world.steward, resource=code,
                              spec=[{"type": "format", "format": "mobile", "column": "手机"}])
        run = service.check(session=s, settings=world.rt.settings, actor=world.steward, resource=code)
    with world.rt.transaction() as s:
        owner = service.get_run(session=s, actor=world.steward, run_id=run.id)
        outsider = service.get_run(session=s, actor=world.outsider, run_id=run.id)
    assert owner.results[0].failed == outsider.results[0].failed == 1
    assert owner.results[0].samples == ["1381234"]
    assert outsider.results[0].samples == []
    assert "1381234" not in outsider.model_dump_json()


def test_outsider_does_not_see_new_category_values(world: World, add_resource: Callable[..., str],
                                                   add_version: Callable[[str, pa.Table], int]) -> None:
    """A new-categories verdict quotes example values in its detail: kept for readers, removed for others."""
    code = add_resource(world.dept, "许可登记", ["姓名", "等级"])
    add_version(code, pa.table({"姓名": ["张三", "李四"], "等级": ["甲", "乙"]}))
    add_version(code, pa.table({"姓名": ["张三", "王五"], "等级": ["甲", "特级机密户"]}))
    with world.rt.transaction() as s:
        service.save_rule_set(session=s, actor=world.steward, resource=code,
                              spec=[{"type": "new_categories", "column": "等级"}])
        run = service.check(session=s, settings=world.rt.settings, actor=world.steward, resource=code)
    with world.rt.transaction() as s:
        owner = service.get_run(session=s, actor=world.steward, run_id=run.id)
        outsider = service.get_run(session=s, actor=world.outsider, run_id=run.id)
    assert owner.results[0].failed == outsider.results[0].failed == 1
    assert "特级机密户" in (owner.results[0].detail or "")
    assert outsider.results[0].detail == "新出现 1 个取值 / 1 new values"
    assert "特级机密户" not in outsider.model_dump_json()
