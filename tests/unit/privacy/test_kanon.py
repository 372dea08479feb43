"""k-anonymity, l-diversity, t-closeness: optimality against exhaustive search, and an
independent count (pandas) that every output satisfies the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from tests.unit.privacy.conftest import ADULT

from shudata.core.errors import InvalidInput
from shudata.privacy.kanon.apply import apply_node, suppressed_rows
from shudata.privacy.kanon.data import encode
from shudata.privacy.kanon.hierarchy import TOP, Hierarchy
from shudata.privacy.kanon.lattice import exhaustive, search
from shudata.privacy.kanon.metrics import METRICS
from shudata.privacy.kanon.models import DistinctLDiversity, EntropyLDiversity, KAnonymity, PrivacyModel, TCloseness
from shudata.privacy.kanon.risk import table_risk

QIS = ["age", "education", "marital-status", "sex"]


def adult_subset() -> pa.Table:
    cols = ["sex", "age", "race", "marital-status", "education", "native-country", "workclass", "occupation",
            "salary-class"]
    return pcsv.read_csv(ADULT / "adult_subset.csv", parse_options=pcsv.ParseOptions(delimiter=";"),
                         convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in cols}))


def hierarchies(names: list[str]) -> dict[str, Hierarchy]:
    return {q: Hierarchy.from_csv(q, ADULT / f"adult_hierarchy_{q}.csv") for q in names}


def independent_check(out: pa.Table, qis: list[str], k: int, sensitive: str | None = None, l: int | None = None,  # noqa: E741
                      suppressed: np.ndarray | None = None) -> None:
    """Count the classes again with pandas, leaving out the rows the search suppressed."""
    frame = out.to_pandas()
    kept = frame[~suppressed] if suppressed is not None else frame
    sizes = kept.groupby(qis).size()
    assert sizes.min() >= k
    if sensitive and l:
        assert kept.groupby(qis)[sensitive].nunique().min() >= l


CASES: list[tuple[str, list[PrivacyModel], float, str | None]] = [
    ("k5", [KAnonymity(k=5)], 0.0, None),
    ("k10-supp", [KAnonymity(k=10)], 0.05, None),
    ("k3-l2", [KAnonymity(k=3), DistinctLDiversity(l=2)], 0.02, "salary-class"),
    ("k2-entropy", [KAnonymity(k=2), EntropyLDiversity(l=3)], 0.05, "occupation"),
    ("k2-t", [KAnonymity(k=2), TCloseness(t=0.3)], 0.05, "salary-class"),
]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize(("name", "models", "suppression", "sensitive"), CASES, ids=[c[0] for c in CASES])
def test_search_finds_the_exhaustive_optimum(name: str, models: list[PrivacyModel], suppression: float,
                                             sensitive: str | None, metric: str) -> None:
    table = adult_subset()
    enc = encode(table, QIS, hierarchies(QIS), sensitive)
    fast = search(enc, models, suppression=suppression, metric=metric)  # type: ignore[arg-type]
    slow = exhaustive(enc, models, suppression=suppression, metric=metric)  # type: ignore[arg-type]
    assert fast.optimum is not None and slow.optimum is not None
    assert fast.optimum.value == pytest.approx(slow.optimum.value, rel=1e-9, abs=1e-12)
    assert fast.evaluated <= slow.evaluated
    out = apply_node(table, enc, fast.optimum.node, models)
    k = next(m.k for m in models if isinstance(m, KAnonymity))
    lval = next((m.l for m in models if isinstance(m, DistinctLDiversity)), None)
    supp = suppressed_rows(enc, fast.optimum.node, models)
    assert supp.sum() <= suppression * table.num_rows
    assert (out.to_pandas()[supp][QIS] == TOP).all().all()
    independent_check(out, QIS, k, sensitive, lval, supp)


def test_random_small_tables_agree_with_exhaustive_search() -> None:
    rng = np.random.default_rng(11)
    for _ in range(5):
        n = int(rng.integers(20, 80))
        table = pa.table({"a": [str(x) for x in rng.integers(0, 40, n)],
                          "z": [f"{x:04d}" for x in rng.integers(0, 30, n)]})
        hs = {"a": Hierarchy.build_intervals("a", range(40), widths=(5, 10, 20)),
              "z": Hierarchy.build_masking("z", [f"{x:04d}" for x in range(30)])}
        enc = encode(table, ["a", "z"], hs)
        for supp in (0.0, 0.1):
            fast = search(enc, [KAnonymity(k=3)], suppression=supp)
            slow = exhaustive(enc, [KAnonymity(k=3)], suppression=supp)
            assert fast.optimum is not None and slow.optimum is not None
            assert fast.optimum.value == pytest.approx(slow.optimum.value)


def test_hierarchical_t_closeness_uses_the_sensitive_hierarchy() -> None:
    table = adult_subset()
    occ = Hierarchy.from_csv("occupation", ADULT / "adult_hierarchy_occupation.csv")
    enc = encode(table, QIS, hierarchies(QIS), "occupation")
    eq = search(enc, [KAnonymity(k=2), TCloseness(t=0.2)], suppression=0.05)
    hi = search(enc, [KAnonymity(k=2), TCloseness(t=0.2, distance="hierarchical", hierarchy=occ)], suppression=0.05)
    assert eq.optimum is not None and hi.optimum is not None
    assert hi.optimum.value <= eq.optimum.value + 1e-12  # hierarchical distance never exceeds the equal one


def test_risk_drops_after_anonymisation() -> None:
    table = adult_subset()
    enc = encode(table, QIS, hierarchies(QIS))
    res = search(enc, [KAnonymity(k=5)], suppression=0.02)
    assert res.optimum is not None
    out = apply_node(table, enc, res.optimum.node, [KAnonymity(k=5)])
    before, after = table_risk(table, QIS), table_risk(out, QIS)
    assert after.prosecutor_max <= 0.2 < before.prosecutor_max
    assert after.unique_share == 0 < before.unique_share
    assert sum(b["records"] for b in after.histogram) == after.rows  # type: ignore[misc]


@pytest.mark.parametrize(("qis", "k", "message"), [
    (["age", "nope"], 2, "准标识符列不存在"),  # a QI that does not exist
    (["age"], 10_000, "大于数据行数"),  # k larger than the row count
])
def test_bad_requests_are_refused(qis: list[str], k: int, message: str) -> None:
    table = adult_subset()
    with pytest.raises(InvalidInput, match=message):
        enc = encode(table, qis, hierarchies([q for q in qis if q != "nope"]) | {"nope": Hierarchy("nope", (("x",),))})
        search(enc, [KAnonymity(k=k)])


def test_hierarchy_that_does_not_cover_a_value_is_refused() -> None:
    table = pa.table({"age": ["17", "200"]})
    with pytest.raises(InvalidInput, match="200"):
        encode(table, ["age"], hierarchies(["age"]))


def test_non_utf8_hierarchy_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes("成都;四川\n".encode("gb18030"))
    with pytest.raises(InvalidInput, match="UTF-8"):
        Hierarchy.from_csv("city", path)


def test_ragged_hierarchy_rows_are_refused() -> None:
    with pytest.raises(InvalidInput, match="第 2 行"):
        Hierarchy.from_rows("x", [["a", "A", "*"], ["b", "*"]])
