"""Person names in free text: jieba's nr tags checked against the surname table."""

from __future__ import annotations

import pyarrow as pa
import pytest

from shudata.core.errors import InvalidInput
from shudata.privacy.compile import compile_plan
from shudata.privacy.detect import classify
from shudata.privacy.detect.base import PatternRecognizer
from shudata.privacy.detect.classify import classify_column, scan_table
from shudata.privacy.detect.names import person_names
from shudata.privacy.detect.registry import RecognizerRegistry, default_registry
from shudata.privacy.gate import check_export
from shudata.privacy.mask import mask_table
from shudata.privacy.policy import Policy

NAMES = ["张伟", "刘洋", "陈静", "杨磊", "赵新民", "欧阳娜娜", "王芳", "黄磊"]
NOTES = [f"客户{n}来电咨询办证进度，已告知所需材料" for n in NAMES] + ["材料齐全，已办结，请于三日内领取"] * 8


@pytest.mark.parametrize(("text", "names"), [
    ("客户张伟来电咨询办证进度", ["张伟"]),
    ("联系人：王小明，电话13812345678", ["王小明"]),
    ("欧阳娜娜今天去了成都市锦江区", ["欧阳娜娜"]),  # compound surname tagged apart from the given name
    ("经办人赵新民已审核", ["赵新民"]),  # single surname tagged apart
    ("材料齐全，已办结", []),  # 齐全 is tagged nr by jieba but is a common word
    ("我明白了，谢谢你的关心", []),
    ("成都市锦江区红星路三段1号", []),  # places
    ("2024年全年GDP增长5.4%", []),  # no surname character: jieba is not even called
    ("", []),
])
def test_person_names_in_free_text(text: str, names: list[str]) -> None:
    assert person_names(text) == names


def test_a_free_text_column_with_names_is_classified_as_names() -> None:
    f = classify_column("办理意见", pa.array(NOTES))
    assert (f.entity, f.free_text, f.sampled) == ("PERSON_NAME", True, 16)
    assert 6 <= f.matched <= 8  # jieba is not perfect: it cuts 客户王|芳 and misses 王芳 here
    assert f.confidence >= 0.5


def test_a_free_text_column_without_names_is_not() -> None:
    notes = ["材料齐全，已办结，请于三日内领取", "资料不全，请补充营业执照复印件后再次提交",
             "已电话回访，办事群众表示满意"] * 10
    assert classify_column("办理意见", pa.array(notes)).entity is None


def test_the_surname_table_recognizer_still_classifies_name_columns() -> None:
    f = classify_column("姓名", pa.array(NAMES * 3))
    assert (f.entity, f.free_text, f.header_match) == ("PERSON_NAME", False, True)


def test_embedded_entities_with_stronger_evidence_still_win() -> None:
    notes = [f"客户{n}来电{13812345670 + i}咨询" for i, n in enumerate(NAMES)] * 2
    assert classify_column("备注", pa.array(notes)).entity == "CN_MOBILE"  # every value has a valid mobile


def test_the_finder_sees_only_its_character_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classify, "FINDER_BUDGET_CHARS", 100)
    f = classify_column("备注", pa.array(NOTES * 20))
    assert f.entity == "PERSON_NAME" and f.sampled < 10


def test_scan_reports_names_in_free_text() -> None:
    rep = scan_table(pa.table({"编号": [str(i) for i in range(16)], "备注": NOTES}), source="t")
    assert rep.sensitive_columns == ("备注",)


def test_the_open_profile_gate_refuses_names_in_free_text_until_masked() -> None:
    table = pa.table({"备注": NOTES})
    res = check_export(table, profile="open")
    assert [(v.column, v.entity) for v in res.violations] == [("备注", "PERSON_NAME")]
    plan = compile_plan(Policy.parse({"name": "p", "columns": {"备注": {"op": "mask_all", "fixed": "已屏蔽"}}}),
                        table.schema)
    assert check_export(mask_table(table, plan), profile="open").passed


def test_the_registry_refuses_an_unknown_text_finder() -> None:
    with pytest.raises(InvalidInput, match="查找函数"):
        RecognizerRegistry().register(PatternRecognizer(name="x", entity="PERSON_NAME", patterns=(),
                                                        text_finder="nope"))


def test_the_default_registry_has_both_name_recognizers() -> None:
    recs = {r.name: r for r in default_registry().all()}
    assert recs["person_name"].validator == "person_name" and recs["person_name"].patterns
    assert recs["person_name_text"].text_finder == "jieba_person_names"
