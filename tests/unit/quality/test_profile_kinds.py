"""A column's kind agrees with its type, on every real table we have.

Every table of tests/data/ingest/real, …/messy and tests/data/quality (and, when present, the shared
real data: economy, opendata, regions, environment, public_services, disaster) is profiled;
no column may get a kind its data type cannot hold (a date is never a phone number), and
every column gets the kind labelled below (``None`` when unlabelled: none of these tables
holds personal identifiers or phone numbers).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shudata.quality.profile import KINDS, _pick_kind, kind_fits_type, profile_file
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine

ROOT = Path(__file__).resolve().parents[2] / "data"
SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
SHARED_DIRS = ("economy", "opendata", "regions", "environment", "public_services", "disaster")
SUFFIXES = (".csv", ".xls", ".xlsx")

# (file name, column) -> the kind that column holds; every other column holds none
LABELS: dict[tuple[str, str], str] = {
    ("areas.csv", "code"): "region_code",  # county-level GB/T 2260 codes
    ("gbt2260_code_timeline.csv", "code"): "region_code",  # every code ever valid
    ("streets_sichuan.csv", "areaCode"): "region_code",  # the county a street belongs to
    ("wuhan_hospitals_amap_poi.csv", "PROVINCECODE"): "region_code",
    ("wuhan_hospitals_amap_poi.csv", "COUNTYCODE"): "region_code",
    ("wuhan_schools_amap_poi.csv", "PROVINCECODE"): "region_code",
    ("wuhan_schools_amap_poi.csv", "COUNTYCODE"): "region_code",
    # the USGS list has no header row: its first event's time stands as the first column's name
    ("longmenshan_earthquakes_usgs_1973-2013.xls", "2013-04-21 09:05:23"): "timestamp",
}


def _files() -> list[Path]:
    found = [p for d in ("ingest/real", "ingest/messy", "quality") if (ROOT / d).is_dir()
             for p in sorted((ROOT / d).iterdir()) if p.suffix in SUFFIXES]
    for d in SHARED_DIRS:
        if (SHARED / d).is_dir():
            found += sorted(p for p in (SHARED / d).rglob("*") if p.suffix in SUFFIXES and p.is_file())
    return found


FILES = _files()


@pytest.fixture(scope="module")
def engine() -> DuckDBEngine:
    return DuckDBEngine(threads=1, memory_limit="512MB")


def _label(p: Path) -> str:
    return str(p.relative_to(SHARED if p.is_relative_to(SHARED) else ROOT))


def test_the_real_tables_are_there() -> None:
    assert len([p for p in FILES if p.is_relative_to(ROOT)]) >= 10  # the real tables kept in tests/data
    if (SHARED / "regions").is_dir():
        assert any(p.name == "areas.csv" for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=_label)
def test_kinds_agree_with_types_and_labels(path: Path, engine: DuckDBEngine,
                                           lookups: dict[str, TableSource]) -> None:
    prof = profile_file(engine, path, lookups=lookups)
    assert prof.rows > 0
    for c in prof.columns:
        if c.kind is not None:
            assert kind_fits_type(c.kind, c.type), f"{c.column}: kind {c.kind} on a {c.type} column"
            assert c.invalid is not None and c.invalid * 2 <= prof.rows - c.nulls, c
        assert c.kind == LABELS.get((path.name, c.column)), f"{path.name} · {c.column}: {c.kind}"
        for rule in c.suggested_rules:
            if rule["type"] in ("format", "cn_id", "uscc", "bank_card"):
                pytest.fail(f"{path.name} · {c.column}: personal/identifier rule {rule}")


@pytest.mark.parametrize(("data_type", "allowed"), [
    ("C", set(KINDS)),
    ("I", {"cn_id", "mobile", "region_code", "bank_card"}),
    ("D", {"date"}),
    ("T", {"timestamp"}),
    ("N", set()), ("F", set()), ("Y", set()), ("L", set()), ("M", set()),
])
def test_which_kinds_each_type_can_hold(data_type: str, allowed: set[str]) -> None:
    assert {k for k in KINDS if kind_fits_type(k, data_type)} == allowed


def test_a_registration_date_is_never_a_mobile_number(tmp_path: Path, engine: DuckDBEngine,
                                                      lookups: dict[str, TableSource]) -> None:
    """The 1993 registration workbook: 注册日期 was typed a date and then tagged a mobile number."""
    rows = [f"企业{i}有限公司,1993-{1 + i % 12:02d}-{1 + i % 28:02d},1380013{i:04d},{610000 + i % 50},"
            f"1993-01-05 10:{i % 60:02d}:00,{100 + i}.5" for i in range(200)]
    path = tmp_path / "registrations.csv"
    path.write_text("企业名称,注册日期,联系电话,邮编,受理时间,注册资金\n" + "\n".join(rows) + "\n", encoding="utf-8")
    cols = {c.column: c for c in profile_file(engine, path, lookups=lookups).columns}
    assert (cols["注册日期"].type, cols["注册日期"].kind, cols["注册日期"].invalid) == ("D", "date", 0)
    assert cols["联系电话"].kind == "mobile" and cols["联系电话"].invalid == 0
    assert cols["邮编"].kind == "postal_code"
    assert cols["受理时间"].kind == "timestamp"
    assert cols["注册资金"].kind is None and cols["企业名称"].kind is None


@pytest.mark.parametrize(("column", "data_type", "counts", "lowest", "kind"), [
    ("注册日期", "D", {"mobile": 10, "date": 10}, "1993-01-05", "date"),  # the date kind, never the phone
    ("注册日期", "C", {"date": 10}, "1993-01-05", "date"),
    ("电话", "N", {"mobile": 10}, "13800138000", None),  # a decimal column holds no phone numbers
    ("电话", "L", {"mobile": 10}, "1", None),
    ("电话", "I", {"mobile": 10}, "13800138000", "mobile"),  # 11 digits, no leading zero: kept by an integer
    ("邮编", "I", {"postal_code": 10}, "610041", None),  # postal codes may start with 0
    ("邮编", "C", {"postal_code": 10}, "010010", "postal_code"),
    ("行政区划代码", "I", {"region_code": 10}, "010101", None),  # leading zero lost in an integer
    ("行政区划代码", "I", {"region_code": 10}, "510104", "region_code"),
    ("数量", "I", {"region_code": 10}, "510104", None),  # a six-digit number not named like a code
    ("身份证号", "D", {"cn_id": 10}, "2020-01-01", None),
    ("统一社会信用代码", "I", {"uscc": 10}, "915101000000000000", None),  # a credit code is text
    ("受理时间", "T", {"timestamp": 10, "date": 10}, "2020-01-01 10:00", "timestamp"),
])
def test_pick_kind_respects_the_type(column: str, data_type: str, counts: dict[str, int], lowest: str,
                                     kind: str | None) -> None:
    assert _pick_kind(column, 10, counts, data_type, lowest) == kind


def test_the_1993_registration_workbook(tmp_path: Path, engine: DuckDBEngine, lookups: dict[str, TableSource]) -> None:
    """The workbook of issue #11 (1,399 rows, mixed date forms, N/A placeholders): 注册日期 is no phone
    number, 注册号 no resident ID, the credit codes are credit codes and their check-digit rule is
    suggested."""
    from tests.support.messy import write_registration_workbook

    book = write_registration_workbook(tmp_path / "企业登记")
    prof = profile_file(engine, book.path, lookups=lookups)
    assert prof.rows == 1399
    cols = {c.column: c for c in prof.columns}
    for c in prof.columns:
        assert c.kind is None or kind_fits_type(c.kind, c.type), c
    assert cols["注册日期"].kind in (None, "date") and cols["注册日期"].kind != "mobile"
    assert cols["统一社会信用代码"].kind == "uscc"
    assert cols["注册号"].kind is None  # 15-digit registration numbers are not old resident IDs
    assert {r["type"] for r in cols["注册号"].suggested_rules} == {"not_null", "unique"}
    check = cols["统一社会信用代码"].suggested_rules[-1]
    assert (check["type"], check["column"]) == ("uscc", "统一社会信用代码")
    assert not any(c.kind in ("mobile", "landline", "cn_id", "bank_card") for c in prof.columns)


def test_placeholders_are_missing_before_the_type_is_inferred(engine: DuckDBEngine, tmp_path: Path) -> None:
    """A number column holding N/A and — is profiled as a number with those cells missing, as the
    ingest reads it (the profile of a file and the stored version agree)."""
    path = tmp_path / "注册资本.csv"
    path.write_text("企业,注册资本\n甲公司,100\n乙公司,N/A\n丙公司,—\n丁公司,250.5\n", encoding="utf-8")
    cols = {c.column: c for c in profile_file(engine, path, lookups={}).columns}
    assert cols["注册资本"].type == "N" and cols["注册资本"].nulls == 2
    untouched = {c.column: c for c in profile_file(engine, path, lookups={}, placeholders=()).columns}
    assert untouched["注册资本"].type == "C"  # no placeholders: the text stays text
