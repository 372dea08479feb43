"""Fingerprints in delivered files and tracing a leak back to its buyer (issue 16, 指纹与溯源)."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest
from pydantic import ValidationError

from shudata.core.errors import InvalidInput
from shudata.lake.export import csv_batches, xlsx_batches
from shudata.market.delivery.fingerprint import (
    FingerprintSpec,
    Keys,
    embed,
    key_text,
    read_parity,
    row_digests,
    set_parity,
    set_parity_int,
    suggest_spec,
)
from shudata.market.delivery.leaked import read_leaked
from shudata.market.delivery.trace import decide, innocent_tail, observe, threshold

SECRET = b"unit-test-fingerprint-secret-32b"
SPEC = FingerprintSpec(key_columns=("编号",), columns={"人数": 1, "金额": 0.01, "比率": 0.0001})
BUYERS = [f"buyer-{i}" for i in range(12)]


def product(rows: int = 8000, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "编号": pa.array([f"0{i:07d}" for i in range(rows)]),
        "名称": pa.array([f"企业{i % 37}" for i in range(rows)]),
        "人数": rng.integers(0, 900, rows),
        "金额": np.round(rng.lognormal(5, 1, rows), 2),
        "比率": np.round(rng.random(rows), 4),
    })


@pytest.fixture(scope="module")
def copies() -> dict[str, pa.Table]:
    base = product()
    keys = Keys.derive(SECRET, list(SPEC.columns))
    digests = row_digests(keys, key_text(base, SPEC.key_columns))
    return {b: embed(base, SPEC, secret=SECRET, buyer=b, digests=digests) for b in BUYERS} | {"": base}


def as_csv(table: pa.Table) -> pa.Table:
    return read_leaked(io.BytesIO(b"".join(csv_batches(table.schema, table.to_batches()))), "leak.csv")


def accused(table: pa.Table, buyers: list[str] = BUYERS) -> list[str]:
    return [s.buyer for s in decide(observe(table, SPEC, SECRET), SPEC, SECRET, buyers).accused]


def test_marks_stay_within_the_tolerance_and_leave_keys_and_text_alone(copies: dict[str, pa.Table]) -> None:
    base, copy = copies[""], copies["buyer-0"]
    assert copy.schema == base.schema
    assert copy.column("编号").equals(base.column("编号")) and copy.column("名称").equals(base.column("名称"))
    for col, tol in SPEC.columns.items():
        diff = np.abs(np.asarray(copy.column(col)) - np.asarray(base.column(col)))
        assert diff.max() <= tol + 1e-9, col
        assert 0.2 < np.count_nonzero(diff) / len(diff) < 0.3, col  # half the rows marked, half already right


def test_each_buyer_gets_another_copy_and_the_same_buyer_the_same(copies: dict[str, pa.Table]) -> None:
    again = embed(copies[""], SPEC, secret=SECRET, buyer="buyer-0")
    assert again.equals(copies["buyer-0"])
    assert not copies["buyer-0"].column("人数").equals(copies["buyer-1"].column("人数"))


def test_nulls_stay_null_and_integer_types_are_kept() -> None:
    t = pa.table({"编号": ["a", "b", "c"], "人数": pa.array([1, None, 3], pa.int32()),
                  "金额": pa.array([None, 2.5, float("nan")])})
    out = embed(t, FingerprintSpec(key_columns=("编号",), columns={"人数": 1, "金额": 0.01}, fraction=1.0),
                secret=SECRET, buyer="x")
    assert out.schema == t.schema
    assert out.column("人数").to_pylist()[1] is None and out.column("金额").to_pylist()[0] is None
    assert np.isnan(out.column("金额").to_pylist()[2])


@pytest.mark.parametrize("step", [1.0, 0.01, 0.05, 10.0])
def test_set_parity_carries_the_bit_within_one_step(step: float) -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(0, 1000, 5000)
    bits = rng.random(5000) < 0.5
    out = set_parity(values, bits, step)
    assert np.all(np.abs(out - values) <= step + 1e-9)
    assert np.array_equal(read_parity(out, step), bits)


@pytest.mark.parametrize("step", [1, 2, 10])
def test_set_parity_int_carries_the_bit_within_one_step(step: int) -> None:
    rng = np.random.default_rng(2)
    values = rng.integers(-10_000, 10_000, 5000)
    bits = rng.random(5000) < 0.5
    out = set_parity_int(values, bits, step)
    assert np.all(np.abs(out - values) <= step)
    assert np.array_equal(read_parity(out.astype(float), step), bits)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"key_columns": ("编号",), "columns": {"编号": 1}}, "键列不能携带指纹"),  # the key never carries a mark
    ({"key_columns": ("编号",), "columns": {"金额": 0}}, "容差必须是正数"),
    ({"key_columns": (), "columns": {"金额": 1}}, "key_columns"),
])
def test_spec_refuses_bad_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FingerprintSpec(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("columns", "code"), [
    ({"缺失": 1}, "fingerprint_column_missing"),
    ({"名称": 1}, "fingerprint_column_not_numeric"),
    ({"人数": 0.5}, "fingerprint_bad_tolerance"),  # an integer column moves by whole numbers
])
def test_embed_refuses_a_spec_that_does_not_fit_the_data(columns: dict[str, float], code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        embed(product(10), FingerprintSpec(key_columns=("编号",), columns=columns), secret=SECRET, buyer="x")
    assert err.value.code == code


def test_suggest_spec_takes_numeric_columns_but_keys_and_exclusions() -> None:
    spec = suggest_spec(product(5).schema, ("编号",), exclude=("比率",))
    assert spec.columns == {"人数": 1.0, "金额": 0.01}
    with pytest.raises(InvalidInput):
        suggest_spec(pa.schema({"编号": pa.string()}), ("编号",))


def test_a_five_percent_csv_leak_shuffled_with_columns_dropped_names_its_buyer(copies: dict[str, pa.Table]) -> None:
    rng = np.random.default_rng(5)
    for guilty in ("buyer-3", "buyer-11"):
        leak = copies[guilty].take(rng.choice(8000, 400, replace=False)).drop_columns(["金额", "名称"])
        leak = leak.select(list(reversed(leak.column_names)))
        assert accused(as_csv(leak)) == [guilty]


def test_an_xlsx_leak_names_its_buyer(copies: dict[str, pa.Table]) -> None:
    leak = copies["buyer-5"].slice(1000, 400)
    with xlsx_batches(leak.schema, leak.to_batches()) as f:
        table = read_leaked(io.BytesIO(f.read()), "leak.xlsx")
    assert accused(table) == ["buyer-5"]


def test_two_buyers_merging_rows_name_one_of_them_and_no_one_else(copies: dict[str, pa.Table]) -> None:
    rng = np.random.default_rng(9)
    for a, b in (("buyer-1", "buyer-2"), ("buyer-7", "buyer-8")):
        merged = pa.concat_tables([copies[a].take(rng.choice(8000, 300, replace=False)),
                                   copies[b].take(rng.choice(8000, 300, replace=False))])
        named = accused(as_csv(merged.take(rng.permutation(600))))
        assert named and set(named) <= {a, b}


def test_the_unmarked_data_and_a_buyer_outside_the_candidates_match_no_one(copies: dict[str, pa.Table]) -> None:
    assert accused(as_csv(copies[""].slice(0, 2000))) == []
    assert accused(as_csv(copies["buyer-4"].slice(0, 2000)), [b for b in BUYERS if b != "buyer-4"]) == []


def test_a_file_without_the_key_column_is_no_match_with_a_reason(copies: dict[str, pa.Table]) -> None:
    leak = copies["buyer-0"].slice(0, 100).drop_columns(["人数", "金额", "比率"])
    verdict = decide(observe(leak, SPEC, SECRET), SPEC, SECRET, BUYERS)
    assert not verdict.matched and verdict.positions == 0 and verdict.notes


def test_threshold_grows_with_positions_and_candidates_and_bounds_the_tail() -> None:
    assert threshold(1000, 50, 0.1) < threshold(4000, 50, 0.1)
    assert threshold(1000, 50, 0.1) < threshold(1000, 5000, 0.1)
    z = threshold(1000, 50, 0.1)
    assert innocent_tail(z, 1000, 0.1) * 50 == pytest.approx(1e-6, rel=1e-6)


def test_leaked_csv_in_gbk_keeps_leading_zeros() -> None:
    data = "编号,人数\n00012,3\n".encode("gbk")
    t = read_leaked(io.BytesIO(data), "x.csv")
    assert t.column("编号").to_pylist() == ["00012"] and t.column("人数").to_pylist() == ["3"]


def test_leaked_file_that_is_not_a_table_is_refused_in_chinese() -> None:
    with pytest.raises(InvalidInput, match="无法读取文件") as err:
        read_leaked(io.BytesIO(b"PK\x03\x04not a workbook"), "x.xlsx")
    assert err.value.code == "trace_file_unreadable"
