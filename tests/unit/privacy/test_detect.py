"""Recognizers and column classification: check digits, noise and look-alikes."""

from __future__ import annotations

import pyarrow as pa
import pytest

from shudata.privacy.detect.classify import classify_column, header_matches, scan_table
from shudata.privacy.detect.validators import VALIDATORS
from shudata.privacy.synthdata import citizens

IDS = citizens(60, seed=3).column("身份证号").to_pylist()


@pytest.mark.parametrize(("validator", "value", "valid"), [
    ("cn_resident_id", "11010519491231002X", True),  # GB 11643 example
    ("cn_resident_id", "110105194912310021", False),  # wrong check digit
    ("cn_resident_id", "110105194902300026", False),  # 30 February
    ("cn_resident_id", "990105194912310027", False),  # region code that never existed
    ("cn_resident_id", "110105491231002", True),  # legacy 15-digit
    ("bank_card", "6222020200112233446", True),
    ("bank_card", "6222020200112233445", False),  # Luhn fails
    ("bank_card", "1222020200112233440", False),  # implausible BIN prefix
    ("cn_mobile", "13812345678", True),
    ("cn_mobile", "8613812345678", True),
    ("cn_mobile", "12012345678", False),  # no such prefix
    ("uscc", "91510100MA6CB8AG5D", True),
    ("uscc", "91510100MA6CB8AG5B", False),
    ("ip_address", "192.168.1.300", False),
    ("ip_address", "2001:db8::1", True),
    ("person_name", "欧阳娜娜", True),
    ("person_name", "高新区", False),  # a place, not a person
    ("address", "四川省成都市锦江区春熙路1号", True),
    ("address", "成都", False),
    ("gps", "30.657420, 104.065840", True),
    ("date", "1990-02-30", False),
])
def test_validator_accepts_only_real_values(validator: str, value: str, valid: bool) -> None:
    assert VALIDATORS[validator](value) is valid


@pytest.mark.parametrize(("header", "values", "entity"), [
    ("sfzh", IDS, "CN_RESIDENT_ID"),
    ("证件", [f" {v[:6]} {v[6:14]} {v[14:]} " for v in IDS], "CN_RESIDENT_ID"),  # spaces inside
    ("col1", [v.translate(str.maketrans("0123456789", "０１２３４５６７８９")) for v in IDS], "CN_RESIDENT_ID"),
    ("联系电话", ["138-1234-5678", "139 1234 5678", "+8615012345678"] * 10, "CN_MOBILE"),
    ("email", ["a@b.com", "li.si@qq.com", "w@gov.cn"] * 5, "EMAIL"),
    ("车牌号", ["川A12345", "川AD12345", "京B6789挂"] * 5, "CN_LICENSE_PLATE"),
    ("出生日期", ["1990-01-02", "1985年3月4日", "2001/12/31"] * 5, "DATE_OF_BIRTH"),
    ("xm", ["张三", "李四", "王小明", "欧阳娜娜", "赵敏"] * 4, "PERSON_NAME"),
    ("经纬度", ["30.657420,104.065840", "31.4678, 104.6796"] * 5, "GPS_COORDINATE"),
])
def test_column_is_classified_despite_noise(header: str, values: list[str], entity: str) -> None:
    f = classify_column(header, pa.array(values))
    assert f.entity == entity
    assert f.confidence >= 0.5
    assert str(f.matched) in f.evidence


@pytest.mark.parametrize(("header", "values"), [
    ("订单号", [v[:17] + ("0" if v[17] != "0" else "1") for v in IDS]),  # ID-like, wrong check digits
    ("流水号", [f"{i:018d}" for i in range(40)]),  # 18-digit numbers that are not IDs
    ("金额", [str(i * 137) for i in range(40)]),
    ("出生地", ["成都", "绵阳"] * 10),
    ("日期", ["2024-01-02", "2024-02-03"] * 10),  # dates are not dates of birth without context
])
def test_look_alikes_are_not_reported(header: str, values: list[str]) -> None:
    assert classify_column(header, pa.array(values)).entity is None


def test_free_text_column_reports_embedded_entities() -> None:
    notes = ["请联系13812345678办理业务", "客户已核验，无异常", "回访电话 13912345678，地址不详", "材料齐全"] * 5
    f = classify_column("备注", pa.array(notes))
    assert (f.entity, f.free_text) == ("CN_MOBILE", True)


def test_numeric_columns_are_read_as_digits() -> None:
    f = classify_column("手机", pa.array([13812345678, 13912345678, 15012345678], type=pa.int64()))
    assert f.entity == "CN_MOBILE"


def test_scan_proposes_the_highest_grade_for_sensitive_information() -> None:
    rep = scan_table(citizens(50, seed=1), source="t")
    by_col = {c.column: c.entity for c in rep.columns}
    assert by_col["身份证号"] == "CN_RESIDENT_ID"
    assert by_col["银行卡号"] == "BANK_CARD"
    assert by_col["收入"] is None
    assert rep.proposed_grade == 4


def test_scan_of_a_table_without_personal_data_proposes_level_one() -> None:
    rep = scan_table(pa.table({"年份": [2020, 2021], "GDP": [4.8, 5.4]}), source="t")
    assert (rep.proposed_grade, rep.sensitive_columns) == (1, ())


@pytest.mark.parametrize(("header", "words", "hit"), [
    ("居民身份证号码", ("身份证",), True), ("SFZH", ("sfzh",), True), ("xmbh", ("xm",), False),
    ("user_name", ("name",), True),
])
def test_header_matching_uses_whole_ascii_tokens(header: str, words: tuple[str, ...], hit: bool) -> None:
    assert header_matches(header, words) is hit
