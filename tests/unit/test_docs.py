"""The docs are checked: every setting, CLI command and API route is documented, and the
generated parts of README.md, docs/cli.md and docs/api.md are up to date
(after datasette's ``tests/test_docs.py``; regenerate with ``scripts/gen_docs.py``)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from shudata.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI_MD = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
API_MD = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


def _load_gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_docs"] = module
    spec.loader.exec_module(module)
    return module


gen_docs = _load_gen_docs()


def _section(markdown: str, title_word: str) -> str:
    """The text of the ``##`` section whose title contains ``title_word``."""
    m = re.search(rf"^## [^\n]*{re.escape(title_word)}[^\n]*\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert m is not None, f"README has no section about {title_word!r}"
    return m.group(1)


def test_readme_opens_with_the_two_commands() -> None:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None
    commands = [ln.split("#")[0].strip() for ln in block.group(1).splitlines() if ln.strip()]
    assert commands == ["make demo", "make test"]
    assert README.index("make demo") < 400


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_configuration_table(name: str) -> None:
    table = _section(README, "配置")
    row = re.search(rf"^\| `{name}` \| `SHUDATA_{name.upper()}` \|", table, re.M)
    assert row is not None, f"setting {name} (SHUDATA_{name.upper()}) is missing from README's configuration table"


@pytest.mark.parametrize("path", [" ".join(p) for p in gen_docs.cli_commands() if p])
def test_every_cli_command_is_documented(path: str) -> None:
    heading = f"`shudata {path}`"
    assert heading in CLI_MD or heading in README, f"CLI command 'shudata {path}' is not documented"


def _api_paths() -> set[tuple[str, str]]:
    """``(METHOD, path)`` of every /api/v1 operation of ``create_app()`` (its routes, as the
    OpenAPI document lists them; FastAPI includes routers lazily, so walk the schema)."""
    out = set()
    for path, item in gen_docs.openapi_schema()["paths"].items():
        if path.startswith("/api/v1"):
            out |= {(m.upper(), path) for m in item if m in gen_docs.HTTP_METHODS}
    return out


def test_the_api_has_routes_to_document() -> None:
    assert ("GET", "/api/v1/health") in _api_paths()


@pytest.mark.parametrize(("method", "path"), sorted(_api_paths()))
def test_every_api_route_is_documented(method: str, path: str) -> None:
    row = f"| {method} | `{path}` |"
    assert row in API_MD or row in README, f"{method} {path} is not listed in docs/api.md"


def test_every_command_has_help_text() -> None:
    for path in gen_docs.cli_commands():
        text = gen_docs._help(path)
        assert "Usage:" in text and "Error" not in text.split("Usage:")[0], path


def test_generated_docs_are_up_to_date() -> None:
    stale = [str(p.relative_to(ROOT)) for p in gen_docs.drifted()]
    assert not stale, f"run 'scripts/gen_docs.py' to regenerate: {', '.join(stale)}"


def test_render_replaces_only_marked_blocks() -> None:
    text = "before\n<!-- [[[cog:config]]] -->\nSTALE-CONTENT\n<!-- [[[end]]] -->\nafter\n"
    out = gen_docs.render(text)
    assert out.startswith("before\n<!-- [[[cog:config]]] -->\n| ")
    assert "`SHUDATA_DATA_DIR`" in out and "STALE-CONTENT" not in out
    assert out.endswith("<!-- [[[end]]] -->\nafter\n")


def test_render_refuses_unknown_blocks() -> None:
    with pytest.raises(KeyError):
        gen_docs.render("<!-- [[[cog:nope]]] -->\n<!-- [[[end]]] -->\n")


def test_docs_link_to_existing_files() -> None:
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(((?!https?:|#)[^)#\s]+)", md.read_text(encoding="utf-8")):
            assert (md.parent / target).exists(), f"{md.name} links to missing {target}"


def test_every_doc_is_linked_from_the_readme() -> None:
    for md in sorted((ROOT / "docs").glob("*.md")):
        assert f"](docs/{md.name})" in README, f"README's documentation index does not link docs/{md.name}"


def _registered_actions() -> list[str]:
    from shudata.permissions import builtin_actions

    return [a.name for a in builtin_actions()]


@pytest.mark.parametrize("action", _registered_actions())
def test_every_permission_action_is_documented(action: str) -> None:
    text = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    assert f"| `{action}` |" in text, f"action {action} is missing from docs/permissions.md (run scripts/gen_docs.py)"
