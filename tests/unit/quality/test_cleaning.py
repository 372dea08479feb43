"""Cleaning steps and pipelines: values changed per step, real data, cycles refused, lineage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from tests.unit.quality.conftest import World

from shudata.core.errors import InvalidInput
from shudata.quality import cleaning_service
from shudata.quality.cleaning import expand, parse_pipeline
from shudata.quality.cleaning_run import cleaned_batches, cluster_mapping, clusters, plan
from shudata.quality.cleaning_steps import parse_step
from shudata.quality.reference import region_name_sources
from shudata.quality.run import Target
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine

Stage = Callable[[pa.Table, str], Target]


@pytest.fixture(scope="module")
def names(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TableSource]:
    return region_name_sources(tmp_path_factory.mktemp("names"))


def _run(engine: DuckDBEngine, target: Target, steps: list[dict[str, Any]], names: dict[str, TableSource]
         ) -> tuple[Any, pa.Table]:
    p = parse_pipeline({"name": "t", "steps": steps})
    outcome, tables = plan(engine, target, expand(p, lambda n: None), names)
    return outcome, pa.Table.from_batches(list(cleaned_batches(engine, outcome, tables)))


@pytest.mark.parametrize(("step", "before", "after"), [
    ({"step": "trim", "columns": ["v"]}, ["  a  b ", "a\u3000b\u2002", "ok", None], ["a b", "a b", "ok", None]),
    ({"step": "fullwidth", "columns": ["v"]}, ["ＡＢＣ１２３", "（测试）", "abc"], ["ABC123", "(测试)", "abc"]),
    ({"step": "normalize_date", "column": "v"},
     ["2018年1月4日", "2018/1/4", "20180104", "2018.01.04", "43104", "2018-02-30", "不详"],
     ["2018-01-04"] * 5 + ["2018-02-30", "不详"]),
    ({"step": "normalize_phone", "column": "v"}, ["138 0013 8000", "+86-13800138000", "028-85123456"],
     ["13800138000", "13800138000", "028-85123456"]),
    ({"step": "map_values", "column": "v", "mapping": {"阿坝州": "阿坝藏族羌族自治州"}}, ["阿坝州", "成都市"],
     ["阿坝藏族羌族自治州", "成都市"]),
    ({"step": "upper_id", "column": "v"}, ["11010519491231002x", "11010519491231002X"],
     ["11010519491231002X", "11010519491231002X"]),
    ({"step": "id_15_to_18", "column": "v"}, ["110105491231002", "11010519491231002X"],
     ["11010519491231002X", "11010519491231002X"]),
])
def test_value_steps(engine: DuckDBEngine, stage: Stage, names: dict[str, TableSource], step: dict[str, Any],
                     before: list[str | None], after: list[str | None]) -> None:
    t = pa.table({"n": pa.array(range(len(before)), pa.int64()), "v": pa.array(before, pa.string())})
    outcome, out = _run(engine, stage(t, "t"), [step], names)
    got = dict(zip(out.column("n").to_pylist(), out.column("v").to_pylist(), strict=True))
    assert [got[i] for i in range(len(before))] == after
    assert outcome.steps[0].changed == sum(a != b for a, b in zip(before, after, strict=True))


def test_region_steps_split_and_merge(engine: DuckDBEngine, stage: Stage, names: dict[str, TableSource]) -> None:
    t = pa.table({"区县": ["锦江区", "市中区", "汶川县", "江堰市"], "地址": ["成都市-锦江区", "a-b", "c-d", "e-f"]})
    steps = [{"step": "region_to_code", "column": "区县", "target": "代码", "within": "51"},
             {"step": "code_to_region", "column": "代码", "target": "名称"},
             {"step": "split", "column": "地址", "separator": "-", "into": ["市", "区"]},
             {"step": "merge", "columns": ["市", "区"], "separator": "", "target": "合并"}]
    outcome, out = _run(engine, stage(t, "t"), steps, names)
    rows = {r["区县"]: r for r in out.to_pylist()}
    assert rows["锦江区"]["代码"] == "510104" and rows["锦江区"]["名称"] == "锦江区"
    assert rows["市中区"]["代码"] is None  # ambiguous in Sichuan (乐山, 内江): left for a person
    assert rows["江堰市"]["代码"] is None  # a typo of 都江堰市 in the real scenic list
    assert rows["锦江区"]["合并"] == "成都市锦江区" and rows["锦江区"]["市"] == "成都市"
    assert [s.changed for s in outcome.steps[:2]] == [2, 2]


def test_scenic_pipeline_on_real_data(engine: DuckDBEngine, stage: Stage, names: dict[str, TableSource],
                                      scenic: pa.Table) -> None:
    steps = [{"step": "trim", "columns": ["名称", "地址"]},
             {"step": "region_to_code", "column": "所在市州", "target": "市州代码", "within": "51"},
             {"step": "region_to_code", "column": "所在区县", "target": "区县代码", "within": "51"},
             {"step": "dedupe", "columns": ["名称"]}]
    outcome, out = _run(engine, stage(scenic, "t"), steps, names)
    assert (outcome.rows_in, outcome.rows_out, out.num_rows) == (819, 817, 817)
    changed = [s.changed for s in outcome.steps]
    assert changed[0] == 12  # 4 names and 8 addresses with stray spaces (one ends with U+2002)
    assert changed[1] == 817  # every 市州, short forms such as 阿坝州 included
    assert changed[3] == 2  # the two names listed twice
    unmapped = {r["所在区县"] for r in out.to_pylist() if r["区县代码"] is None}
    assert {"江堰市", "市中区", None} <= unmapped and len(unmapped) < 15


def test_fuzzy_clusters_preview_and_mapping(engine: DuckDBEngine, stage: Stage) -> None:
    t = pa.table({"名称": ["九寨沟 风景区", "九寨沟风景区", "九寨沟（风景区）", "九寨沟风景区", "黄龙",
                          "ＡＢＣ公司", "abc公司"]})
    found = clusters(engine, stage(t, "t"), "名称")
    by_key = {c.key: c for c in found}
    assert set(by_key) == {"九寨沟风景区", "abc公司"}
    assert by_key["九寨沟风景区"].suggested == "九寨沟风景区"  # the most frequent spelling
    mapping = cluster_mapping(found)
    assert mapping["九寨沟 风景区"] == "九寨沟风景区" and "黄龙" not in mapping


def test_fuzzy_dedupe_keeps_one_row_per_key(engine: DuckDBEngine, stage: Stage,
                                            names: dict[str, TableSource]) -> None:
    t = pa.table({"名称": ["成都 公司", "成都公司", "成都，公司", "重庆公司"]})
    outcome, out = _run(engine, stage(t, "t"), [{"step": "dedupe_fuzzy", "column": "名称"}], names)
    assert out.num_rows == 2 and outcome.steps[0].changed == 2


def test_ngram_clusters_group_what_the_fingerprint_keeps_apart(engine: DuckDBEngine, stage: Stage) -> None:
    """Reordered parts (1-grams) and a repeated part (2-grams) collide only on n-gram keys."""
    t = pa.table({"地址": ["四川省成都市", "成都市四川省", "成都市 四川省", "ABC ABC", "abcabc abc", "abc", "黄龙"]})
    target = stage(t, "t")
    plain = {tuple(sorted(v for v, _n in c.values)) for c in clusters(engine, target, "地址")}
    assert plain == {("成都市 四川省", "成都市四川省")}
    ones = [{v for v, _n in c.values} for c in clusters(engine, target, "地址", method="ngram", n=1)]
    assert {"四川省成都市", "成都市四川省", "成都市 四川省"} in ones
    twos = [{v for v, _n in c.values} for c in clusters(engine, target, "地址", method="ngram", n=2)]
    assert {"ABC ABC", "abcabc abc"} in twos  # bigrams {ab, bc, ca}; the fingerprints abcabc, abcabcabc differ
    assert not any("四川省成都市" in c for c in twos)  # 省成 / 市四 tell the orders apart at n=2


def test_ngram_fuzzy_dedupe_step(engine: DuckDBEngine, stage: Stage, names: dict[str, TableSource]) -> None:
    t = pa.table({"名称": ["四川省成都市", "成都市四川省", "重庆市"]})
    step = {"step": "dedupe_fuzzy", "column": "名称", "method": "ngram", "n": 1}
    outcome, out = _run(engine, stage(t, "t"), [step], names)
    assert out.num_rows == 2 and outcome.steps[0].changed == 1
    _o, plain = _run(engine, stage(t, "t"), [{"step": "dedupe_fuzzy", "column": "名称"}], names)
    assert plain.num_rows == 3


def test_unknown_clustering_method_is_refused(engine: DuckDBEngine, stage: Stage) -> None:
    with pytest.raises(InvalidInput) as err:
        clusters(engine, stage(pa.table({"x": ["a"]}), "t"), "x", method="soundex")
    assert err.value.code == "cluster_unknown_method"
    with pytest.raises(InvalidInput):
        parse_step({"step": "dedupe_fuzzy", "column": "x", "method": "ngram", "n": 0})


@pytest.mark.parametrize(("spec", "code"), [
    ({"name": "a", "steps": [{"step": "pipeline", "name": "a"}]}, "pipeline_cycle"),  # includes itself
    ({"name": "a", "steps": [{"step": "teleport", "column": "x"}]}, "step_unknown_type"),  # unknown step
    ({"name": "a", "steps": []}, "pipeline_invalid"),  # nothing to do
    ({"name": "a", "steps": [{"step": "pipeline", "name": "nope"}]}, "pipeline_unknown"),  # missing include
])
def test_bad_pipelines_are_refused(spec: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        expand(parse_pipeline(spec), lambda n: None)
    assert err.value.code == code


def test_cycle_between_saved_pipelines_is_refused(world: World, add_resource: Callable[..., str]) -> None:
    code = add_resource(world.dept, "景区", ["名称", "地址"])
    with world.rt.transaction() as s:
        cleaning_service.save_pipeline(session=s, actor=world.steward, resource=code,
                                       spec={"name": "a", "steps": [{"step": "trim", "columns": ["名称"]}]})
        cleaning_service.save_pipeline(session=s, actor=world.steward, resource=code,
                                       spec={"name": "b", "steps": [{"step": "pipeline", "name": "a"}]})
    with pytest.raises(InvalidInput) as err, world.rt.transaction() as s:
        cleaning_service.save_pipeline(session=s, actor=world.steward, resource=code,
                                       spec={"name": "a", "steps": [{"step": "pipeline", "name": "b"}]})
    assert err.value.code == "pipeline_cycle" and "a → b → a" in err.value.zh
    with pytest.raises(InvalidInput) as err, world.rt.transaction() as s:
        cleaning_service.save_pipeline(session=s, actor=world.steward, resource=code,
                                       spec={"name": "c", "steps": [{"step": "trim", "columns": ["电话"]}]})
    assert err.value.code == "pipeline_missing_column"


def test_clean_writes_a_new_version_with_lineage(world: World, add_resource: Callable[..., str],
                                                 add_version: Callable[[str, pa.Table], int],
                                                 scenic: pa.Table) -> None:
    code = add_resource(world.dept, "景区", list(scenic.column_names))
    add_version(code, scenic)
    spec = {"name": "景区清洗", "steps": [{"step": "trim", "columns": ["地址"]},
                                      {"step": "dedupe", "columns": ["名称"]}]}
    with world.rt.transaction() as s:
        cleaning_service.save_pipeline(session=s, actor=world.steward, resource=code, spec=spec)
        made = cleaning_service.clean(session=s, settings=world.rt.settings, actor=world.steward, resource=code,
                                      pipeline="景区清洗")
    assert (made.source_version, made.target_version, made.pipeline_revision) == (1, 2, 1)
    assert [x["changed"] for x in made.steps] == [8, 2]  # 8 addresses with stray spaces; 2 repeated names
    from shudata.catalog.access import find_resource
    from shudata.lake.service import get_version

    with world.rt.transaction() as s:
        res = find_resource(s, code)
        assert (get_version(s, res.id, 1).rows, get_version(s, res.id, 2).rows) == (819, 817)
        history = cleaning_service.lineage(session=s, actor=world.user, resource=code)
    assert [h.target_version for h in history] == [2]
