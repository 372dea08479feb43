"""The plugin manager: every built-in hook implementation is there however the runtime is built,
and an extra plugin joins through the same manager."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
from tests.unit.quality.examples import EXAMPLES

from shudata.core.errors import InvalidInput
from shudata.core.plugins import BUILTINS, HookSpecs, hookimpl, make_plugin_manager, plugins_of
from shudata.core.types import Actor
from shudata.db.runtime import Runtime
from shudata.quality.rule_base import ColumnRule, parse_rule, rule_types
from shudata.quality.rules import NotNull, parse_rule_set

# hook -> the built-in plugins implementing it, and the functions that do the work
EXPECTED = {
    "query_table_access": [("shudata.sharing.providers", "query_table_access")],  # cross-department masking
    "query_granted_table": [("shudata.sharing.providers", "query_granted_table")],  # a grant's delivered view
    "query_granted_tables": [("shudata.sharing.providers", "query_granted_tables")],  # granted tables listed
    "catalog_quality_scores": [("shudata.quality.providers", "catalog_quality_scores")],
    "after_ingest": [("shudata.portal.hooks", "regate_new_version"),  # the open-data gate on a new version
                     ("shudata.sharing.hooks", "prepare_deliveries"),  # the grants' masked files
                     ("shudata.analysis.hooks", "reshape_and_recompute"),  # layouts' long form, indicators (#18)
                     ("shudata.market.derivatives", "mark_stale")],  # derivatives of an older version (#16)
    "department_renamed": [("shudata.catalog.hooks", "department_renamed")],  # search index keeps names current
    "privacy_policy_users": [("shudata.portal.hooks", "publications_using_policy"),  # the policy editor's
                             ("shudata.sharing.hooks", "grants_using_policy")],  # "used by" panel
    # the market ledger (issue 16, shudata.market.ledger) and delivery (shudata.market.delivery) add theirs
    "market_event": [("shudata.market.ledger.hooks", "market_event"),  # the signed ledger (存证)
                     ("shudata.market.rights.hooks", "market_event")],  # licences of 加工使用权 on delivery
    "market_order_delivering": [("shudata.market.delivery.hooks", "market_order_delivering")],  # entitlement
    "quality_rule_types": [("shudata.quality.providers", "quality_rule_types")],
    "quality_cleaning_step_types": [("shudata.quality.providers", "quality_cleaning_step_types")],
    # the assessment scorecard's sharing and openness criteria (issue 18; analysis sits below both)
    "scorecard_measures": [("shudata.portal.scorecard", "scorecard_measures"),
                           ("shudata.sharing.scorecard", "scorecard_measures")],
    # market entitlements served and cleaned up by sharing's Delta Sharing machinery (issue 16)
    "sharing_recipients_for_resource": [("shudata.market.delivery.prepare", "sharing_recipients_for_resource")],
    "sharing_ended_deliveries": [("shudata.market.delivery.prepare", "sharing_ended_deliveries")],
}

# A fresh interpreter imports only the settings and the runtime, builds a runtime (and an app on
# it), and reports what its plugin manager holds: nothing may depend on a module imported before.
PROBE = """
import json, sys
from pathlib import Path
from shudata.core.config import Settings
from shudata.db.runtime import Runtime
before = sorted(m for m in sys.modules if m.startswith(("shudata.sharing", "shudata.portal", "shudata.quality")))
tmp = Path(sys.argv[1])
rt = Runtime.build(Settings(env="test", data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'meta.db'}"))
def report(pm):
    return {
        "plugins": [name for name, _ in pm.list_name_plugin()],
        "hooks": {name: [(i.plugin_name, i.function.__name__) for i in getattr(pm.hook, name).get_hookimpls()]
                  for name in sorted(n for n in dir(pm.hook) if not n.startswith("_"))},
    }
from shudata.quality.rule_base import rule_types
from shudata.quality.cleaning_steps import step_types
out = {"before": before, "runtime": report(rt.plugins), "rule_types": sorted(rule_types(rt.plugins)),
       "step_types": sorted(step_types(rt.plugins)), "default_rule_types": sorted(rule_types())}
from shudata.web.app import create_app
app = create_app(runtime=rt, migrate=False)
out["app"] = report(app.state.runtime.plugins)
with rt.transaction() as s:
    out["session_has_runtime_plugins"] = s.info.get("plugins") is rt.plugins
rt.close()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("probe")
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp)], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parents[3], check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_probe_starts_with_no_plugin_module_imported(probe: dict[str, Any]) -> None:
    assert probe["before"] == []


@pytest.mark.parametrize("built_by", ["runtime", "app"])
def test_a_runtime_built_from_scratch_has_every_builtin_hook(probe: dict[str, Any], built_by: str) -> None:
    report = probe[built_by]
    assert report["plugins"] == list(BUILTINS)
    specs = {n for n in vars(HookSpecs) if not n.startswith("_")}
    assert set(report["hooks"]) == specs == set(EXPECTED)
    for hook, impls in EXPECTED.items():
        assert sorted(map(tuple, report["hooks"][hook])) == sorted(impls), hook


def test_rule_and_step_types_come_from_the_manager(probe: dict[str, Any]) -> None:
    assert probe["rule_types"] == probe["default_rule_types"] == sorted(EXAMPLES)
    assert {"trim", "map_values", "dedupe"} <= set(probe["step_types"])
    assert probe["session_has_runtime_plugins"] is True


class Even(ColumnRule):
    rule_type = "test_even"
    type: Literal["test_even"] = "test_even"

    def describe(self) -> tuple[str, str]:
        return f"“{self.column}”须为偶数", f"{self.column!r} must be even"


class EvenPlugin:
    @hookimpl
    def quality_rule_types(self) -> list[type[ColumnRule]]:
        return [Even]


def test_a_plugin_adds_a_rule_type_to_its_manager_only() -> None:
    pm = make_plugin_manager(plugins=[EvenPlugin()])
    rule = parse_rule({"type": "test_even", "column": "编号"}, plugins=pm)
    assert isinstance(rule, Even) and rule.sentence("en") == "'编号' must be even"
    assert parse_rule_set([{"type": "test_even", "column": "编号"}, {"type": "not_null", "column": "名称"}],
                          plugins=pm).rules[0] == rule
    assert set(rule_types(pm)) == set(EXAMPLES) | {"test_even"}
    with pytest.raises(InvalidInput, match="test_even"):
        parse_rule({"type": "test_even", "column": "编号"})  # the default manager: built-ins only
    pm.unregister(name=pm.get_name(next(p for p in pm.get_plugins() if isinstance(p, EvenPlugin))))
    assert "test_even" not in rule_types(pm)  # gathered again once the plugins change


def test_a_rule_type_given_twice_is_refused() -> None:
    class Again:
        @hookimpl
        def quality_rule_types(self) -> list[type[NotNull]]:
            return [NotNull]

    with pytest.raises(ValueError, match="not_null"):
        rule_types(make_plugin_manager(plugins=[Again()]))


def test_an_extra_plugin_reaches_the_services_through_the_runtime_sessions(
        rt: Runtime, make_department: Any) -> None:
    from shudata.security.schemas import DepartmentUpdate
    from shudata.security.service import update_department

    renamed: list[int] = []

    class Recorder:
        @hookimpl
        def department_renamed(self, department_id: int) -> None:
            renamed.append(department_id)

    assert [name for name, _ in rt.plugins.list_name_plugin()] == list(BUILTINS)  # no entry points in tests
    rt.plugins.register(Recorder())
    dept = make_department("省测试厅")
    with rt.transaction() as s:
        assert plugins_of(s) is rt.plugins
        update_department(session=s, actor=Actor.system(), department_id=dept,
                          data=DepartmentUpdate(name="省测试厅（新）"))
    assert renamed == [dept]


def test_an_after_ingest_plugin_runs_after_the_builtin_steps(rt: Runtime, make_department: Any,
                                                            tmp_path: Path) -> None:
    from shudata.catalog.schemas import ResourceCreate
    from shudata.catalog.service import register_resource
    from shudata.core.types import Role
    from shudata.jobs.ingest import IngestRun, ingest_file

    seen: list[tuple[str, int | None]] = []

    class Recorder:
        @hookimpl
        def after_ingest(self, run: IngestRun) -> None:
            seen.append((run.resource.code, run.version.version if run.version else None))

    rt.plugins.register(Recorder())
    dept = make_department("省插件测试局")
    steward = Actor(user_id=9101, username="plug_steward", department_id=dept, roles=frozenset({Role.DATA_STEWARD}))
    with rt.transaction() as s:
        code = register_resource(session=s, actor=steward, data=ResourceCreate.model_validate({
            "code": "201001/000009", "name": "插件测试名单", "abstract": "插件测试名单（测试）",
            "information_items": [{"name": "姓名", "data_type": "C", "length": 10}],
            "sharing": {"type": 1, "method": "接口"}, "update_cycle": "每年"})).code
    path = tmp_path / "names.csv"
    path.write_text("姓名\n张三\n李四\n", encoding="utf-8")
    with rt.transaction() as s:
        v = ingest_file(session=s, settings=rt.settings, actor=steward, resource_code=code, path=path)
    assert seen == [(code, v.version)] and v.rows == 2
