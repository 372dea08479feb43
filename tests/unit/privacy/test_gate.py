"""The export gate, and the property that masking leaves no original value anywhere."""

from __future__ import annotations

import unicodedata

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shudata.privacy.compile import compile_plan
from shudata.privacy.gate import ExportRefused, check_export, enforce
from shudata.privacy.mask import mask_table
from shudata.privacy.policy import Policy
from shudata.privacy.synthdata import citizens
from shudata.standards.cn_id import compute_check_char
from shudata.standards.luhn import luhn_check_digit
from shudata.standards.regions import sichuan_counties

KEYS = {"k1": bytes(range(16))}
CODES = [c.code for c in sichuan_counties()]


def test_unmasked_personal_data_is_refused_with_findings() -> None:
    with pytest.raises(ExportRefused) as err:
        enforce(citizens(80, seed=2), profile="open")
    cols = {v["column"] for v in err.value.details["violations"]}
    assert {"身份证号", "手机号", "银行卡号"} <= cols
    assert err.value.status == 403


def test_data_masked_by_the_profile_defaults_passes() -> None:
    table = citizens(80, seed=2)
    policy = Policy.parse({"name": "p", "profile": "open"})
    findings = {"姓名": "PERSON_NAME", "身份证号": "CN_RESIDENT_ID", "手机号": "CN_MOBILE", "银行卡号": "BANK_CARD",
                "地址": "ADDRESS", "出生日期": "DATE_OF_BIRTH"}
    out = mask_table(table, compile_plan(policy, table.schema, findings=findings))
    assert enforce(out, profile="open").passed


def test_conditional_sharing_tolerates_masked_mobiles_but_not_ids() -> None:
    table = pa.table({"手机": ["138****5678"] * 10, "身份证": citizens(10, seed=4).column("身份证号")})
    result = check_export(table, profile="share-conditional")
    assert [v.column for v in result.violations] == ["身份证"]


def test_ids_hidden_in_free_text_are_found() -> None:
    ids = citizens(20, seed=9).column("身份证号").to_pylist()
    table = pa.table({"备注": [f"当事人身份证{i}，已核实" for i in ids]})
    assert not check_export(table, profile="internal").passed


def test_exempt_columns_are_reported_not_scanned() -> None:
    table = pa.table({"v": citizens(10, seed=4).column("身份证号")})
    result = check_export(table, profile="open", exempt={"v": "fpe_pseudonym"})
    assert result.passed and result.exempt == {"v": "fpe_pseudonym"}


# -- the property: no original value of a masked column appears anywhere in the output -----

def _id(draw: st.DrawFn) -> str:
    first17 = (draw(st.sampled_from(CODES)) + str(draw(st.integers(1900, 2020)))
               + f"{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 28)):02d}{draw(st.integers(0, 999)):03d}")
    return first17 + compute_check_char(first17)


@st.composite
def values(draw: st.DrawFn) -> tuple[str, list[str]]:
    kind = draw(st.sampled_from(["id", "mobile", "card", "name", "email", "text"]))
    n = draw(st.integers(1, 12))
    out = []
    for _ in range(n):
        if kind == "id":
            out.append(_id(draw))
        elif kind == "mobile":
            out.append("1" + draw(st.sampled_from(["38", "39", "50", "86"])) + f"{draw(st.integers(0, 10**8 - 1)):08d}")
        elif kind == "card":
            body = "62" + f"{draw(st.integers(0, 10**16 - 1)):016d}"
            out.append(body + luhn_check_digit(body))
        elif kind == "email":
            out.append(draw(st.from_regex(r"[a-z]{3,8}\.[a-z]{2,5}@(qq|163|gov)\.(com|cn)", fullmatch=True)))
        else:
            out.append(draw(st.text(alphabet="张王李赵刘陈杨黄周吴伟芳娜敏静丽强磊军洋", min_size=6, max_size=12)))
    return kind, out


OPS = st.sampled_from([
    {"op": "mask_all"}, {"op": "suppress"}, {"op": "suppress", "marker": "[删]"}, {"op": "pseudonym", "key_id": "k1"},
    {"op": "sm4_encrypt", "key_id": "k1"}, {"op": "mask_all", "fixed": "***"},
]) | st.builds(lambda h, t: {"op": "partial_mask", "keep_head": h, "keep_tail": t},
               st.integers(0, 4), st.integers(0, 4))


def forms(value: str) -> set[str]:
    """The value in the formats it could be written in (full-width, separators, case)."""
    norm = unicodedata.normalize("NFKC", value).upper()
    out = {norm, norm.replace(" ", "").replace("-", "")}
    digits = "".join(c for c in norm if c.isdigit())
    if len(digits) >= 6:
        out.add(digits)
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=values(), op=OPS, fpe=st.booleans())
def test_no_original_value_survives_masking_in_any_format(data: tuple[str, list[str]], op: dict[str, object],
                                                          fpe: bool) -> None:
    kind, secret = data
    if fpe and kind in ("id", "mobile"):
        op = {"op": "fpe_pseudonym", "key_id": "k1", "kind": "resident_id" if kind == "id" else "mobile"}
    n = len(secret)
    table = pa.table({"secret": secret, "n": list(range(n)), "c": ["A", "B"] * (n // 2) + ["A"] * (n % 2)})
    policy = Policy.parse({"name": "p", "columns": {"secret": op}})
    out = mask_table(table, compile_plan(policy, table.schema, keys=KEYS))
    cells = [unicodedata.normalize("NFKC", str(v)).upper() for col in out.columns for v in col.to_pylist()
             if v is not None]
    for original in secret:
        for form in forms(original):
            assert not any(form in cell for cell in cells), (original, op)
