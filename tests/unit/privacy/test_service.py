"""Privacy services on both databases: scan, grade, policies, mask, decrypt, DP budgets, denials."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.unit.privacy.conftest import World

from shudata.audit.models import AuditEntry
from shudata.core.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from shudata.db.runtime import Runtime
from shudata.privacy import service, service_models
from shudata.privacy.gate import ExportRefused
from shudata.privacy.schemas import BudgetSet, DpQuery, KanonRequest, PolicySave

POLICY = {"name": "citizens-share", "profile": "share-conditional",
          "columns": {"身份证号": {"op": "partial_mask", "keep_head": 6, "keep_tail": 4},
                      "手机号": {"op": "pseudonym", "key_id": "k1"}, "地址": {"op": "sm4_encrypt", "key_id": "k1"},
                      "收入": {"op": "bucket", "boundaries": [3000, 8000]}}}


def test_steward_scans_a_resource_and_confirms_the_grade(rt: Runtime, world: World) -> None:
    with rt.transaction() as s:
        rep = service.scan_resource(session=s, actor=world.steward, settings=rt.settings, resource="citizens")
        assert {c.column: c.entity for c in rep.columns}["身份证号"] == "CN_RESIDENT_ID"
        assert rep.proposed_grade == 4 and rep.version == 1
        done = service.confirm_grade(session=s, actor=world.steward, report_id=rep.id, grade=4)
        assert (done.confirmed_grade, done.confirmed_by) == (4, "steward_a")
    with rt.transaction() as s:  # audit entries are appended when their transaction commits
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"privacy.scan", "privacy.grade.confirm"} <= actions


def test_other_departments_may_not_scan_or_mask(rt: Runtime, world: World) -> None:
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        service.scan_resource(session=s, actor=world.outsider, settings=rt.settings, resource="citizens")
    with rt.transaction() as s, pytest.raises(PermissionDenied):
        service.mask_resource(session=s, actor=world.outsider, settings=rt.settings, resource="citizens",
                              policy=POLICY)


def test_mask_writes_parquet_and_sm4_values_decrypt_for_the_provider(rt: Runtime, world: World,
                                                                     tmp_path: Path) -> None:
    dest = tmp_path / "out" / "masked.parquet"
    with rt.transaction() as s:
        res = service.mask_resource(session=s, actor=world.steward, settings=rt.settings, resource="citizens",
                                    policy=POLICY, dest=dest)
    out = pq.read_table(dest)
    assert res.rows == out.num_rows == world.table.num_rows
    assert res.gate["passed"] and res.key_ids == ["k1"]
    assert out.column("身份证号")[0].as_py()[6:14] == "********"
    with rt.transaction() as s:
        tokens = out.column("地址").to_pylist()[:3]
        assert all(t.startswith("k1@101001/000009:") for t in tokens)  # bound to the resource they came from
        plain = service.decrypt_values(session=s, actor=world.steward, settings=rt.settings, tokens=tokens)
        assert plain == world.table.column("地址").to_pylist()[:3]
        for other in (world.admin, world.outsider):  # raw data stays in the provider department
            with pytest.raises(PermissionDenied):
                service.decrypt_values(session=s, actor=other, settings=rt.settings, tokens=tokens)


def test_gate_refusal_leaves_no_file(rt: Runtime, world: World, tmp_path: Path) -> None:
    dest = tmp_path / "exports" / "leak.parquet"
    dest.parent.mkdir()
    leaky = {"name": "leaky", "profile": "open", "columns": {c: {"op": "keep"} for c in world.table.column_names}}
    with rt.transaction() as s, pytest.raises(ExportRefused):
        service.mask_resource(session=s, actor=world.steward, settings=rt.settings, resource="citizens",
                              policy=leaky, dest=dest)
    assert list(dest.parent.iterdir()) == []  # neither the file nor its temporary


def test_policies_are_validated_when_saved(rt: Runtime, world: World) -> None:
    with rt.transaction() as s:
        saved = service.save_policy(session=s, actor=world.steward, settings=rt.settings,
                                    data=PolicySave(policy=POLICY, resource="citizens"))
        again = service.save_policy(session=s, actor=world.steward, settings=rt.settings,
                                    data=PolicySave(policy=POLICY))
        assert (saved.revision, again.revision) == (1, 2)
    bad = {**POLICY, "columns": {"手机号": {"op": "pseudonym", "key_id": "nokey"}}}
    with rt.transaction() as s, pytest.raises(NotFound, match="nokey"):
        service.save_policy(session=s, actor=world.steward, settings=rt.settings, data=PolicySave(policy=bad))
    typo = {**POLICY, "columns": {"身份证": {"op": "mask_all"}}}
    with rt.transaction() as s, pytest.raises(InvalidInput, match="不存在的列"):
        service.save_policy(session=s, actor=world.steward, settings=rt.settings,
                            data=PolicySave(policy=typo, resource="citizens"))


def test_saved_policy_masks_by_name_with_a_preview(rt: Runtime, world: World) -> None:
    with rt.transaction() as s:
        service.save_policy(session=s, actor=world.steward, settings=rt.settings, data=PolicySave(policy=POLICY))
        res = service.mask_resource(session=s, actor=world.steward, settings=rt.settings, resource="citizens",
                                    policy="citizens-share", preview_rows=5)
    assert res.preview is not None and len(res.preview) == 5
    assert res.columns["姓名"] == "partial_mask"  # detected name, share-conditional default


@pytest.mark.sqlite_only
def test_anonymise_resource_reduces_risk(rt: Runtime, world: World) -> None:
    req = KanonRequest(quasi_identifiers=["区划代码"], k=3, suppression=0.05)
    with rt.transaction() as s:
        row = service_models.anonymise_resource(session=s, actor=world.steward, settings=rt.settings,
                                                resource="citizens", req=req)
    assert row.after is not None and row.after["prosecutor_max"] <= 1 / 3
    assert row.before["prosecutor_max"] >= row.after["prosecutor_max"]


def test_dp_budget_is_charged_and_enforced(rt: Runtime, world: World) -> None:
    with rt.transaction() as s:
        service_models.set_budget(session=s, actor=world.admin, data=BudgetSet(consumer="steward_a", epsilon_total=1.0))
    with rt.transaction() as s:
        r = service_models.dp_release(session=s, actor=world.steward, settings=rt.settings, resource="citizens",
                                      query=DpQuery(kind="mean", column="收入", epsilon=0.6, lower=0, upper=100000))
        assert r.value is not None and 0 <= r.value <= 100000
    with rt.transaction() as s, pytest.raises(LimitExceeded):
        service_models.dp_release(session=s, actor=world.steward, settings=rt.settings, resource="citizens",
                                  query=DpQuery(kind="count", epsilon=0.5))
    with rt.transaction() as s:
        b = service_models.get_budget(s, "steward_a")
        assert b.epsilon_spent == pytest.approx(0.6)
