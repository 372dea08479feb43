"""A masking policy's text holds no control characters, whichever way it arrives (API, editor, YAML/JSON
file, CLI) — its operators' text parameters are written into the delivered data (a NUL mask character,
an ESC sequence as a marker, a right-to-left override in a bucket label) — and a stored policy that
holds one is refused when it would run, with nothing delivered (forms sweep follow-up)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from tests.unit.privacy.conftest import World
from typer.testing import CliRunner

from shudata.cli.main import app
from shudata.core.errors import InvalidInput
from shudata.privacy import service
from shudata.privacy.compile import compile_plan
from shudata.privacy.editor import parse_operator
from shudata.privacy.models import PrivacyPolicy
from shudata.privacy.operators.mask import MaskAll
from shudata.privacy.policy import Policy
from shudata.privacy.synthdata import citizens

# (operator spec with control characters in one text parameter)
BAD_OPS: list[dict[str, Any]] = [
    {"op": "mask_all", "char": "\x00"},  # a NUL mask character, repeated into every value
    {"op": "mask_all", "char": "\t"},  # a mask character must be one printable character
    {"op": "partial_mask", "keep_head": 3, "keep_tail": 4, "char": "\n"},
    {"op": "partial_mask", "keep_head": 3, "keep_tail": 4, "char": "\u202e"},
    {"op": "mask_all", "fixed": "已隐藏\x1b[2J"},
    {"op": "suppress", "marker": "\u202e已隐藏"},
    {"op": "bucket", "boundaries": [3000, 8000], "labels": ["低", "中\x00", "高"]},
    {"op": "hierarchy", "mapping": {"本科": "高等教育\u2066"}},
    {"op": "hierarchy", "mapping": {"本科\x00": "高等教育"}},
    {"op": "pseudonym", "key_id": "k1\x07"},
]
# (operator spec whose unusual-looking text is fine)
GOOD_OPS: list[dict[str, Any]] = [
    {"op": "mask_all", "char": "＊"}, {"op": "mask_all", "char": "×"}, {"op": "partial_mask", "char": "隐"},
    {"op": "mask_all", "fixed": "已隐藏（见附件）"}, {"op": "suppress", "marker": "已隐藏\t（制表符可以）"},
    {"op": "bucket", "boundaries": [3000], "labels": ["低 收入", "高\n收入"]},
]


@pytest.mark.parametrize("op", BAD_OPS, ids=[json.dumps(o, ensure_ascii=True) for o in BAD_OPS])
def test_policy_parsing_refuses_control_characters_in_any_text_parameter(op: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as refused:
        Policy.parse({"name": "p", "columns": {"手机号": op}})
    assert refused.value.code == "control_characters"
    assert "控制字符" in refused.value.zh and "control character" in refused.value.en
    with pytest.raises(InvalidInput) as refused:  # the same policy as a JSON file
        Policy.from_text(json.dumps({"name": "p", "entities": {"CN_MOBILE": op}}))
    assert refused.value.code == "control_characters"
    if op.get("char", "x").strip():  # the editor leaves a blank field out (the default "*")
        with pytest.raises(InvalidInput) as refused:  # the editor (its form fields, or typed values)
            parse_operator("手机号", op)
        assert refused.value.code == "control_characters" and "控制字符" in refused.value.zh
        assert "手机号" in refused.value.zh


@pytest.mark.parametrize("op", GOOD_OPS, ids=[json.dumps(o, ensure_ascii=True) for o in GOOD_OPS])
def test_unusual_but_printable_mask_text_is_kept(op: dict[str, Any]) -> None:
    parsed = Policy.parse({"name": "p", "columns": {"c": op}}).columns["c"].params()
    assert {k: parsed[k] for k in op if k not in ("boundaries", "labels")} == \
        {k: v for k, v in op.items() if k not in ("boundaries", "labels")}


def test_a_policys_description_refuses_control_characters_yaml_too() -> None:
    with pytest.raises(InvalidInput) as refused:
        Policy.from_text('name: p\ndescription: "共享用\\x1b[31m策略"\n')
    assert refused.value.code == "control_characters" and "description" in refused.value.zh
    with pytest.raises(InvalidInput, match="控制字符"):
        Policy.from_text('name: p\ncolumns:\n  手机号: {op: mask_all, char: "\\0"}\n')
    assert Policy.parse({"name": "p", "description": "共享用\n第二行"}).description == "共享用\n第二行"


def test_a_spec_built_around_validation_does_not_compile() -> None:
    """What runs a policy never writes a control character from a parameter, even one no parser saw."""
    op = MaskAll.model_construct(char="\x00", fixed=None)
    policy = Policy.model_construct(name="p", profile="internal", description="", columns={"c": op}, entities={},
                                    default=None)
    with pytest.raises(InvalidInput) as refused:
        compile_plan(policy, pa.schema([("c", pa.string())]))
    assert refused.value.code == "control_characters" and "“c”" in refused.value.zh


def test_the_api_refuses_such_policies_and_saves_nothing(client: Any, world: World, token_for: Any,
                                                         rt: Any) -> None:
    h = token_for("steward_a")
    nul = {"手机号": {"op": "mask_all", "char": "\x00"}}
    for url, body in [
        ("/api/v1/privacy/policies/draft", {"resource": "citizens", "columns": nul}),
        ("/api/v1/privacy/policies/preview", {"resource": "citizens", "columns": nul}),
        ("/api/v1/privacy/policies/draft", {"resource": "citizens", "description": "说明\u202e"}),
        ("/api/v1/privacy/policies", {"policy": {"name": "p", "columns": nul}}),
        ("/api/v1/privacy/policies", {"text": "name: p\ncolumns:\n  手机号: {op: suppress, marker: \"\\e[2J\"}\n"}),
        ("/api/v1/privacy/mask", {"resource": "citizens", "policy": {"name": "p", "columns": nul}}),
    ]:
        r = client.post(url, headers=h, json=body)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["error"]["code"] == "control_characters", (url, r.text)
    with rt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PrivacyPolicy)) == 0


def test_a_stored_policy_holding_a_nul_mask_character_is_refused_when_it_runs(rt: Any, world: World,
                                                                             tmp_path: Path) -> None:
    """Stored before parsing refused it (not migrated): it must not run, and nothing is written."""
    with rt.transaction() as s:
        s.add(PrivacyPolicy(name="citizens-old", profile="internal", created_by="steward_a",
                            body={"name": "citizens-old", "profile": "internal", "description": "",
                                  "columns": {"姓名": {"op": "mask_all", "char": "\x00", "fixed": None}},
                                  "entities": {}, "default": None}))
    out = tmp_path / "masked" / "out.parquet"
    with rt.transaction() as s, pytest.raises(InvalidInput) as refused:
        service.mask_resource(session=s, actor=world.steward, settings=rt.settings, resource="citizens",
                              policy="citizens-old", dest=out)
    assert refused.value.code == "control_characters" and "char" in refused.value.zh
    assert not out.parent.exists() or not list(out.parent.iterdir())


@pytest.mark.sqlite_only
def test_the_cli_refuses_a_policy_file_with_control_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    monkeypatch.setenv("SHUDATA_DATA_DIR", str(tmp_path / "node"))
    monkeypatch.delenv("SHUDATA_DATABASE_URL", raising=False)
    data = tmp_path / "居民.parquet"
    pq.write_table(citizens(10, seed=3).select(["姓名", "手机号"]), data)
    policy = tmp_path / "p.yaml"
    policy.write_text('name: p\ncolumns:\n  姓名: {op: mask_all, char: "\\x1b"}\n', encoding="utf-8")
    out = tmp_path / "out.parquet"
    r = CliRunner().invoke(app, ["mask", str(data), "--policy", str(policy), "-o", str(out)])
    assert r.exit_code != 0 and "控制字符" in r.output, r.output
    assert not out.exists()
