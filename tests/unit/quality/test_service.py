"""Service: rule sets refused when saved, checks stored with scores, quarantine on ingest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import func, select
from tests.unit.quality.conftest import DATA, World

from shudata.core.errors import InvalidInput, NotFound, PermissionDenied
from shudata.core.types import Actor
from shudata.quality import service
from shudata.quality.models import QualityQuarantineRow, QualityRun

SCENIC_COLUMNS = ["序号", "名称", "所在市州", "所在区县", "等级", "地址", "经度", "纬度"]
SCENIC_RULES = [
    {"type": "not_null", "column": "所在区县", "severity": "block"},
    {"type": "unique", "columns": ["名称"]},
    {"type": "enum", "column": "等级", "values": ["5A", "4A", "3A", "2A", "1A"]},
    {"type": "row_count", "min": 100},
]


@pytest.fixture
def scenic_entry(world: World, add_resource: Callable[..., str]) -> str:
    return add_resource(world.dept, "四川省A级旅游景区名录", SCENIC_COLUMNS, alias="scenic")


def test_save_rule_set_keeps_history(world: World, scenic_entry: str) -> None:
    with world.rt.transaction() as s:
        first = service.save_rule_set(session=s, actor=world.steward, resource=scenic_entry, spec=SCENIC_RULES[:1])
        second = service.save_rule_set(session=s, actor=world.steward, resource="scenic", spec=SCENIC_RULES,
                                       comment="加上唯一性")
    assert (first.revision, second.revision) == (1, 2)
    with world.rt.transaction() as s:
        history = service.rule_set_history(session=s, actor=world.user, resource=scenic_entry)
        current = service.get_rule_set(session=s, actor=world.user, resource=scenic_entry)
    assert [h.revision for h in history] == [2, 1]
    assert current is not None and len(current.spec["rules"]) == 4


@pytest.mark.parametrize(("spec", "error", "code"), [
    ([{"type": "not_null", "column": "电话"}], InvalidInput, "rule_missing_column"),  # no such column
    ([{"type": "regex", "column": "名称", "pattern": "(["}], InvalidInput, "rule_invalid"),  # bad regex
    ([{"type": "telepathy"}], InvalidInput, "rule_unknown_type"),  # unknown type
    ([{"type": "reference", "column": "名称", "resource": "schools", "ref_column": "学校名称"}],
     PermissionDenied, "rule_reference_denied"),  # entry of another department
    ([{"type": "reference", "column": "名称", "resource": "nowhere", "ref_column": "x"}],
     NotFound, "resource_not_found"),  # unknown entry
])
def test_bad_rule_sets_are_refused_when_saved(world: World, scenic_entry: str, add_resource: Callable[..., str],
                                              spec: list[dict[str, object]], error: type[Exception],
                                              code: str) -> None:
    add_resource(world.other_dept, "全国普通高等学校名单", ["学校名称"], alias="schools")
    with pytest.raises(error) as err, world.rt.transaction() as s:
        service.save_rule_set(session=s, actor=world.steward, resource=scenic_entry, spec=spec)
    assert getattr(err.value, "code", None) == code
    with world.rt.transaction() as s:
        assert service.get_rule_set(session=s, actor=world.steward, resource=scenic_entry) is None


def test_only_the_owning_department_edits_rules(world: World, scenic_entry: str) -> None:
    for actor in (world.outsider, world.user):
        with pytest.raises(PermissionDenied), world.rt.transaction() as s:
            service.save_rule_set(session=s, actor=actor, resource=scenic_entry, spec=SCENIC_RULES)


def test_check_stores_results_scores_and_trend(world: World, scenic_entry: str, scenic: pa.Table,
                                               add_version: Callable[[str, pa.Table], int]) -> None:
    add_version(scenic_entry, scenic)
    add_version(scenic_entry, scenic.slice(0, 700))
    with world.rt.transaction() as s:
        service.save_rule_set(session=s, actor=world.steward, resource=scenic_entry,
                              spec=[*SCENIC_RULES, {"type": "row_count_change", "max_change": 0.1}])
        old = service.check(session=s, settings=world.rt.settings, actor=world.user, resource=scenic_entry, version=1)
        new = service.check(session=s, settings=world.rt.settings, actor=world.user, resource=scenic_entry)
    by = {r.key: r for r in old.results}
    assert old.version == 1 and old.rows == 819
    assert by["not_null:所在区县"].failed == 2 and by["unique:名称"].failed == 4
    assert by["row_count_change"].status == "skipped"  # no earlier version
    newer = {r.key: r for r in new.results}
    assert new.version == 2 and newer["row_count_change"].status == "warn"  # 819 → 700 rows
    with world.rt.transaction() as s:
        assert service.latest_score(s, new.resource_id) == new.scores["overall"]
        assert service.latest_scores(s, [new.resource_id, 999_999]) == {new.resource_id: new.scores["overall"]}
        runs = service.list_runs(session=s, actor=world.user, resource=scenic_entry)
        trend = service.scores_trend(s, new.resource_id)
    assert [r.version for r in runs] == [2, 1]
    assert [t["version"] for t in trend] == [1, 2]


def test_check_is_denied_to_other_departments(world: World, scenic_entry: str, scenic: pa.Table,
                                              add_version: Callable[[str, pa.Table], int]) -> None:
    add_version(scenic_entry, scenic)
    with pytest.raises(PermissionDenied), world.rt.transaction() as s:
        service.check(session=s, settings=world.rt.settings, actor=world.outsider, resource=scenic_entry)


def test_ingest_quarantines_and_counts_add_up(world: World, scenic_entry: str) -> None:
    from shudata.jobs.ingest import ingest_file

    with world.rt.transaction() as s:
        service.save_rule_set(session=s, actor=world.steward, resource=scenic_entry,
                              spec=[*SCENIC_RULES[:1], {"type": "unique", "columns": ["名称"], "severity": "block"}])
    with world.rt.transaction() as s:
        v = ingest_file(session=s, settings=world.rt.settings, actor=world.steward, resource_code=scenic_entry,
                        path=DATA / "sichuan_a_grade_scenic_areas.xlsx")
        version, rows, quarantined = v.version, v.rows, v.quarantined_rows
    with world.rt.transaction() as s:
        q = list(s.scalars(select(QualityQuarantineRow).where(QualityQuarantineRow.version == version)))
        runs = s.scalar(select(func.count()).select_from(QualityRun).where(QualityRun.version == version))
    assert (rows, quarantined, len(q)) == (813, 6, 6)
    assert rows + quarantined == 819
    assert sorted(k for r in q for k in r.rules) == ["not_null:所在区县"] * 2 + ["unique:名称"] * 4
    assert all(r.reasons and r.status == "open" for r in q)
    assert runs == 2  # the screening run and the full check of the published version


def test_ingest_without_blocking_rules_keeps_every_row(world: World, scenic_entry: str, tmp_path: Path) -> None:
    from shudata.jobs.ingest import ingest_file

    with world.rt.transaction() as s:
        v = ingest_file(session=s, settings=world.rt.settings, actor=world.steward, resource_code=scenic_entry,
                        path=DATA / "sichuan_a_grade_scenic_areas.xlsx")
        assert (v.rows, v.quarantined_rows) == (819, 0)


def _steward(world: World) -> Actor:
    return world.steward
