"""Operators through the engine: behaviour that golden files cannot show, and bad input."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shudata.core.errors import InvalidInput, NotFound
from shudata.privacy.compile import compile_plan
from shudata.privacy.mask import mask_source, mask_table
from shudata.privacy.operators.base import Technique
from shudata.privacy.policy import Policy, operators, validate_policy
from shudata.privacy.synthdata import citizens
from shudata.query.engines.base import TableSource
from shudata.standards.cn_id import is_valid_resident_id, parse_resident_id
from shudata.standards.regions import is_known_county_code

KEYS = {"k1": bytes(range(16)), "k2": bytes(16)}


def run(columns: dict[str, dict[str, object]], table: pa.Table, keys: dict[str, bytes] = KEYS) -> pa.Table:
    policy = Policy.parse({"name": "t", "columns": columns})
    return mask_table(table, compile_plan(policy, table.schema, keys=keys))


@pytest.mark.parametrize(("head", "tail", "value", "expected"), [
    (3, 4, "13812345678", "138****5678"),  # mobile
    (6, 4, "510104199001011234", "510104********1234"),  # resident ID
    (1, 0, "张三", "张*"),  # name keeps the surname
    (0, 4, "6222020200112233446", "***************3446"),  # keep tail only, from the end
    (3, 4, "1234567", "*******"),  # not longer than head+tail: all masked
    (3, 4, "12345678", "123*5678"),  # one character longer: one masked
    (1, 0, "王", "*"),  # a one-character name is masked completely
    (6, 0, "四川省成都市锦江区红星路", "四川省成都市******"),  # characters, not bytes
    (2, 2, "欧阳娜娜", "****"),
    (1, 1, "", ""),
])
def test_partial_mask_keeps_head_and_tail(head: int, tail: int, value: str, expected: str) -> None:
    out = run({"v": {"op": "partial_mask", "keep_head": head, "keep_tail": tail}}, pa.table({"v": [value]}))
    assert out.column("v").to_pylist() == [expected]


def test_fpe_resident_ids_validate_and_are_never_real() -> None:
    ids = citizens(300, seed=5).column("身份证号")
    out = run({"v": {"op": "fpe_pseudonym", "key_id": "k1", "kind": "resident_id"}}, pa.table({"v": ids}))
    fakes = out.column("v").to_pylist()
    assert all(is_valid_resident_id(f) for f in fakes)
    assert all(is_known_county_code(f[:6]) for f in fakes)
    assert all(parse_resident_id(f).birth_date.year < 1900 for f in fakes)  # type: ignore[union-attr]
    assert not set(fakes) & set(ids.to_pylist())


def test_fpe_mobiles_keep_a_current_prefix_and_differ_from_the_input() -> None:
    phones = citizens(300, seed=6).column("手机号")
    out = run({"v": {"op": "fpe_pseudonym", "key_id": "k1", "kind": "mobile"}}, pa.table({"v": phones}))
    fakes = out.column("v").to_pylist()
    from shudata.privacy.detect.validators import mobile

    assert all(mobile(f) for f in fakes)
    assert all(f != p for f, p in zip(fakes, phones.to_pylist(), strict=True))


def test_pseudonyms_are_stable_across_datasets_and_keys_separate_them() -> None:
    a = run({"v": {"op": "pseudonym", "key_id": "k1"}}, pa.table({"v": ["张三", "李四"]})).column("v").to_pylist()
    b = run({"v": {"op": "pseudonym", "key_id": "k1"}}, pa.table({"v": ["李四", "王五"]})).column("v").to_pylist()
    c = run({"v": {"op": "pseudonym", "key_id": "k2"}}, pa.table({"v": ["李四"]})).column("v").to_pylist()
    assert a[1] == b[0]  # joins still work
    assert c[0] != b[0]
    assert len(a[0]) == 32


def test_date_shift_is_consistent_within_an_entity() -> None:
    import datetime as dt

    d = [dt.date(2024, 1, 1), dt.date(2024, 1, 11), dt.date(2024, 1, 1)]
    out = run({"d": {"op": "date_shift", "key_id": "k1", "entity_column": "p", "max_days": 15}},
              pa.table({"d": pa.array(d, pa.date32()), "p": ["A", "A", "B"]})).column("d").to_pylist()
    assert (out[1] - out[0]).days == 10
    assert out[0] != d[0] and abs((out[0] - d[0]).days) <= 15


def test_synthetic_replacement_is_consistent_and_never_the_input() -> None:
    out = run({"v": {"op": "synthetic", "key_id": "k1", "kind": "name"}}, pa.table({"v": ["张三", "李四", "张三"]}))
    v = out.column("v").to_pylist()
    assert v[0] == v[2] and v[0] not in ("张三", "李四")


def test_noise_changes_numbers_but_keeps_nulls() -> None:
    out = run({"x": {"op": "noise", "scale": 5.0}}, pa.table({"x": [100.0, None, 100.0]})).column("x").to_pylist()
    assert out[1] is None and out[0] != 100.0


def test_a_hierarchy_that_does_not_cover_a_value_writes_nothing() -> None:
    with pytest.raises(InvalidInput, match="博士"):
        run({"edu": {"op": "hierarchy", "mapping": {"本科": "高等教育"}}}, pa.table({"edu": ["本科", "博士"]}))


def test_region_generalisation_refuses_values_that_are_not_codes() -> None:
    with pytest.raises(InvalidInput, match="6 位"):
        run({"r": {"op": "region_generalize"}}, pa.table({"r": ["510104", "成都"]}))


@pytest.mark.parametrize("bad", ["51a104", "5101041", "51010", "５１０１０４", " 510104", "510104\n", "", "-51010"])
def test_region_preflight_refuses_exactly_what_is_not_six_ascii_digits(bad: str) -> None:
    with pytest.raises(InvalidInput, match="6 位") as err:
        run({"r": {"op": "region_generalize"}}, pa.table({"r": ["510104", None, bad]}))
    assert err.value.details["examples"] == [bad]


def test_region_codes_as_integers_pass_the_preflight() -> None:
    out = run({"r": {"op": "region_generalize", "level": "province"}}, pa.table({"r": pa.array([510104, None])}))
    assert out.column("r").to_pylist() == ["510000", None]


def test_mask_source_refuses_with_examples_and_leaves_no_file(tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"r": ["510104"] * 1000 + ["成都", "绵阳"], "e": ["本科"] * 1002}), src)
    policy = Policy.parse({"name": "t", "columns": {"r": {"op": "region_generalize"},
                                                   "e": {"op": "hierarchy", "mapping": {"本科": "高等教育"}}}})
    plan = compile_plan(policy, pq.read_schema(src))
    dest = tmp_path / "out" / "masked.parquet"
    with pytest.raises(InvalidInput, match="6 位") as err:
        mask_source(TableSource("t", [src]), plan, dest)
    assert sorted(err.value.details["examples"]) == ["成都", "绵阳"]
    assert list(dest.parent.iterdir()) == []  # neither the target nor a temporary file


def test_mask_source_writes_an_empty_table_and_every_row_otherwise(tmp_path: Path) -> None:
    policy = Policy.parse({"name": "t", "columns": {"r": {"op": "region_generalize"}}})
    for rows in (0, 3):
        src = tmp_path / f"in{rows}.parquet"
        pq.write_table(pa.table({"r": pa.array(["510104", "510703", None][:rows], pa.string())}), src)
        dest = tmp_path / f"out{rows}.parquet"
        run_ = mask_source(TableSource("t", [src]), compile_plan(policy, pq.read_schema(src)), dest)
        assert run_.rows == rows
        assert pq.read_table(dest).column("r").to_pylist() == ["510100", "510700", None][:rows]


def test_non_utf8_hierarchy_file_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "edu.csv"
    path.write_bytes("本科;高等教育\n".encode("gbk"))
    with pytest.raises(InvalidInput, match="UTF-8"):
        Policy.parse({"name": "p", "columns": {"edu": {"op": "hierarchy", "file": str(path)}}})


@pytest.mark.parametrize(("columns", "error", "message"), [
    ({"v": {"op": "nope"}}, InvalidInput, "未知的脱敏算子"),  # unknown operator
    ({"v": {"op": "partial_mask", "keep_head": -1}}, InvalidInput, "keep_head"),  # bad parameter
    ({"缺失列": {"op": "mask_all"}}, InvalidInput, "不存在的列"),  # unknown column
    ({"n": {"op": "number_band", "width": 10}}, InvalidInput, "不能用于列"),  # wrong operator for the type
    ({"v": {"op": "pseudonym", "key_id": "missing"}}, NotFound, "密钥"),  # key does not exist
])
def test_bad_policies_are_refused_with_clear_errors(columns: dict[str, object], error: type[Exception],
                                                    message: str) -> None:
    schema = pa.schema([("v", pa.string()), ("n", pa.string())])
    with pytest.raises(error, match=message):
        validate_policy(Policy.parse({"name": "p", "columns": columns}), schema, available_keys={"k1"})


def test_every_operator_documents_its_technique_and_reversibility() -> None:
    reg = operators()
    for name in reg.names():
        cls = reg.get(name)
        assert isinstance(cls.technique, Technique)
        assert cls.__doc__ and ("Irreversible" in cls.__doc__ or "Reversible" in cls.__doc__
                                or "reversible" in cls.__doc__)
    assert reg.get("sm4_encrypt").reversible and not reg.get("pseudonym").reversible


def test_policy_round_trips_through_yaml() -> None:
    p = Policy.parse({"name": "p", "profile": "open", "columns": {"v": {"op": "bucket", "boundaries": [1, 2]}},
                      "entities": {"PERSON_NAME": {"op": "partial_mask", "keep_head": 1}}})
    assert Policy.from_text(p.to_yaml()) == p
