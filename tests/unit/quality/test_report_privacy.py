"""Quality rules, runs, failure counts and reports are computed on raw values, so they are for
the provider department's staff only: another department and the platform admin are refused
(403, audited), through the service and the API alike (architecture convention 16)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select
from tests.unit.quality.conftest import World

from shudata.audit.models import AuditEntry
from shudata.core.errors import PermissionDenied
from shudata.quality import cleaning_service, report, service

PHONES = pa.table({"姓名": ["张三", "李四"], "手机": ["13812345678", "1381234"]})


@pytest.fixture
def checked(world: World, add_resource: Callable[..., str], add_version: Callable[[str, pa.Table], int]
            ) -> tuple[str, int]:
    code = add_resource(world.dept, "联系人名录", ["姓名", "手机"])
    add_version(code, PHONES)
    with world.rt.transaction() as s:
        service.save_rule_set(session=s, actor=world.steward, resource=code,
                              spec=[{"type": "format", "format": "mobile", "column": "手机"}])
        run = service.check(session=s, settings=world.rt.settings, actor=world.steward, resource=code)
    return code, run.id


def test_owner_reads_counts_and_failing_values(world: World, checked: tuple[str, int]) -> None:
    code, run_id = checked
    with world.rt.transaction() as s:
        for actor in (world.steward, world.user):
            run = service.get_run(session=s, actor=actor, run_id=run_id)
            assert run.results[0].failed == 1 and run.results[0].samples == ["1381234"]
        assert service.get_rule_set(session=s, actor=world.user, resource=code) is not None


def test_outsider_reads_no_rule_run_count_or_report(world: World, checked: tuple[str, int]) -> None:
    code, run_id = checked
    calls: list[Callable[[Any], Any]] = [
        lambda s: service.get_run(session=s, actor=world.outsider, run_id=run_id),
        lambda s: service.list_runs(session=s, actor=world.outsider, resource=code),
        lambda s: service.get_rule_set(session=s, actor=world.outsider, resource=code),
        lambda s: service.rule_set_history(session=s, actor=world.outsider, resource=code),
        lambda s: report.report_data(session=s, actor=world.outsider, run_id=run_id),
        lambda s: cleaning_service.list_pipelines(session=s, actor=world.outsider, resource=code),
        lambda s: cleaning_service.lineage(session=s, actor=world.outsider, resource=code),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied) as err, world.rt.transaction() as s:
            call(s)
        assert err.value.code == "quality_raw_data_only"
        assert err.value.details["resource_id"] == code


def test_outsider_gets_403_on_every_quality_api_and_each_is_audited(client: Any, world: World,
                                                                       checked: tuple[str, int],
                                                                       token_for: Callable[[str], dict[str, str]]
                                                                       ) -> None:
    code, run_id = checked
    base = f"/api/v1/quality/resources/{code}"
    headers = token_for("steward2")
    answers = [client.get(base + "/rules", headers=headers), client.get(base + "/rules/history", headers=headers),
               client.get(base + "/runs", headers=headers),
               client.get(f"/api/v1/quality/runs/{run_id}", headers=headers),
               client.get(f"/api/v1/quality/runs/{run_id}/report.html", headers=headers),
               client.get(f"/api/v1/quality/runs/{run_id}/report.xlsx", headers=headers),
               client.put(base + "/rules", json={"spec": [{"type": "not_null", "column": "手机"}]}, headers=headers),
               client.post(base + "/check", headers=headers)]
    for r in answers:
        assert r.status_code == 403, (r.request.url, r.text)
        assert "1381234" not in r.text and "failed" not in r.text
    assert answers[0].json()["error"]["code"] == "quality_raw_data_only"
    with world.rt.transaction() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.actor == "steward2")).all()
    assert [e.outcome for e in denied] == ["denied"] * len(answers)
