"""Hosted jobs (托管 / 数据可用不可见): only aggregates over groups of at least k rows leave (issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shudata.core.config import Settings
from shudata.market.delivery.hosted import HostedRefused, ReleaseRules, analyse, run_hosted, run_plain, source_of
from shudata.query.engines.base import Limits
from shudata.query.service import default_engine

COLUMNS = ("市州", "收入", "姓名", "人数")


@pytest.mark.parametrize(("sql", "rule"), [
    ('SELECT "姓名" FROM t', "aggregates_only"),  # rows
    ("SELECT * FROM t", "no_star"),
    ('SELECT "收入" + 1 FROM t GROUP BY "收入"', "aggregates_only"),  # not the key itself
    ('SELECT "市州", MAX("收入") FROM t GROUP BY 1', "revealing_aggregate"),  # one row's value
    ('SELECT "市州", MIN("收入") FROM t GROUP BY 1', "revealing_aggregate"),
    ('SELECT "市州", list("姓名") FROM t GROUP BY 1', "revealing_aggregate"),
    ('SELECT "市州", string_agg("姓名", \',\') FROM t GROUP BY 1', "revealing_aggregate"),
    ('SELECT "市州", median("收入") FROM t GROUP BY 1', "revealing_aggregate"),
    ('SELECT "市州", ROW_NUMBER() OVER () FROM t', "no_window"),
    ('SELECT COUNT(*) FROM t UNION ALL SELECT COUNT(*) FROM t', "single_select"),
])
def test_analyse_refuses_what_releases_rows(sql: str, rule: str) -> None:
    with pytest.raises(HostedRefused) as err:
        analyse(sql)
    assert err.value.details["rule"] == rule and err.value.code == "hosted_refused"


@pytest.mark.parametrize("sql", [
    'SELECT "市州", COUNT(*) AS n, AVG("收入") FROM t GROUP BY "市州"',
    'SELECT "市州", SUM("收入") / COUNT(*) FROM t GROUP BY 1',  # arithmetic over aggregates
    "SELECT COUNT(*) FROM t",
    'WITH x AS (SELECT * FROM t WHERE "人数" > 3) SELECT COUNT(*), STDDEV("收入") FROM x',
    'SELECT COUNT(*) FROM (SELECT "姓名" FROM t) AS s',  # rows inside, one number out
])
def test_analyse_accepts_aggregates_and_keys(sql: str) -> None:
    analyse(sql)


@pytest.fixture
def product(tmp_path: Path) -> tuple[Settings, Path]:
    rng = np.random.default_rng(0)
    n = 3000
    city = np.array(["成都市", "绵阳市", "德阳市"])[rng.integers(0, 3, n)]
    city[:4] = "甘孜州"  # a small group of 4
    names = np.array(["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴昊"])
    table = pa.table({"市州": city, "收入": rng.normal(8000, 500, n), "姓名": names[rng.integers(0, 10, n)],
                      "人数": rng.integers(1, 9, n)})
    path = tmp_path / "p.parquet"
    pq.write_table(table, path)
    return Settings(data_dir=tmp_path), path


def _run(product: tuple[Settings, Path], sql: str, rules: ReleaseRules | None = None) -> pa.Table:
    settings, path = product
    return run_hosted(sql, table="t", source=source_of(path), columns=COLUMNS, rules=rules or ReleaseRules(),
                      engine=default_engine(settings), limits=Limits()).table


def test_a_released_result_equals_the_sandbox_result(product: tuple[Settings, Path]) -> None:
    sql = 'SELECT "市州", COUNT(*) AS n, AVG("收入") AS a FROM t WHERE "市州" <> \'甘孜州\' GROUP BY 1 ORDER BY 1'
    settings, path = product
    plain = run_plain(sql, table="t", source=source_of(path), columns=COLUMNS, engine=default_engine(settings),
                      limits=Limits())
    assert _run(product, sql).equals(plain)


def test_a_group_smaller_than_k_refuses_the_whole_result(product: tuple[Settings, Path]) -> None:
    with pytest.raises(HostedRefused, match="少于最小分组规模 10") as err:
        _run(product, 'SELECT "市州", COUNT(*) FROM t GROUP BY 1')
    assert err.value.details == {"rule": "min_group_size", "groups": 1, "k": 10}
    assert _run(product, 'SELECT "市州", COUNT(*) FROM t GROUP BY 1', ReleaseRules(min_group_size=4)).num_rows == 4


def test_a_personal_group_key_is_refused(product: tuple[Settings, Path]) -> None:
    with pytest.raises(HostedRefused, match="个人信息") as err:
        _run(product, 'SELECT "姓名", COUNT(*) FROM t GROUP BY 1')
    assert err.value.details["rule"] == "personal_output"


def test_differential_privacy_adds_noise_to_counts_and_bounded_sums(product: tuple[Settings, Path]) -> None:
    rules = ReleaseRules(epsilon=1.0, dp_bounds={"收入": (0, 20000)}, min_group_size=2)
    sql = 'SELECT "市州", COUNT(*) AS n, SUM("收入") AS s FROM t GROUP BY 1 ORDER BY 1'
    settings, path = product
    got = run_hosted(sql, table="t", source=source_of(path), columns=COLUMNS, rules=rules,
                     engine=default_engine(settings), limits=Limits(), rng=np.random.default_rng(1))
    exact = _run(product, sql, ReleaseRules(min_group_size=2))
    assert got.noise == {"n": 2.0, "s": 40000.0}  # ε split over two aggregates: scale = sensitivity / 0.5
    assert got.table.column("n").to_pylist() != exact.column("n").to_pylist()
    assert np.allclose(got.table.column("n").to_pylist(), exact.column("n").to_pylist(), atol=60)
    with pytest.raises(HostedRefused) as err:
        _run(product, 'SELECT AVG("收入") FROM t', rules)  # AVG has no declared sensitivity
    assert err.value.details["rule"] == "dp_aggregate"


def test_plain_column_keys_follow_the_versions_findings_and_computed_keys_are_scanned(
        product: tuple[Settings, Path]) -> None:
    settings, path = product

    def run(sql: str, findings: dict[str, str | None]) -> pa.Table:
        return run_hosted(sql, table="t", source=source_of(path), columns=COLUMNS, rules=ReleaseRules(min_group_size=2),
                          engine=default_engine(settings), limits=Limits(), findings=findings).table

    clean = {"市州": None, "收入": None, "人数": None, "姓名": "PERSON_NAME"}
    assert run('SELECT "市州", COUNT(*) FROM t GROUP BY 1', clean).num_rows == 4
    with pytest.raises(HostedRefused, match="PERSON_NAME"):  # flagged in the version: refused without a scan
        run('SELECT "姓名", COUNT(*) FROM t GROUP BY 1', clean)
    with pytest.raises(HostedRefused) as err:  # a computed key is scanned in the result
        run('SELECT "姓名" || \'\' AS n, COUNT(*) FROM t GROUP BY 1', clean)
    assert err.value.details["rule"] == "personal_output"
