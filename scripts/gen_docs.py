#!/usr/bin/env python
"""Regenerate the generated parts of the docs (cog-style marker blocks).

    .venv/bin/python scripts/gen_docs.py          # rewrite README.md, docs/cli.md, docs/api.md
    .venv/bin/python scripts/gen_docs.py --check  # exit 1 when a committed file differs

A block is delimited by ``<!-- [[[cog:NAME]]] -->`` and ``<!-- [[[end]]] -->``; everything
between them is replaced by the output of the generator ``NAME``:

- ``config``: the table of every field of :class:`shudata.core.config.Settings`;
- ``cli``: ``--help`` of every command of the Typer app, sub-apps included;
- ``api``: every ``/api/v1`` route of ``create_app()`` with its summary;
- ``packages``: the subpackages of ``shudata`` with the first line of their docstring;
- ``permissions``: every action of the permission registry (``shudata.permissions``): scope,
  roles, the platform admin, extra check;
- ``errors``: every error code raised in ``src/shudata`` (read from the source), its HTTP status
  and the modules that raise it;
- ``audit_events``: every kind of audit event (``shudata.audit.events.EVENTS``): name, class, resource
  type, what it records.

``tests/unit/test_docs.py`` runs :func:`drifted` so the committed files never drift.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FILES = tuple(ROOT / f for f in ("README.md", "docs/cli.md", "docs/api.md", "docs/configuration.md",
                                  "docs/architecture.md", "docs/permissions.md", "docs/errors.md",
                                  "docs/audit-events.md"))
BLOCK_RE = re.compile(r"(<!-- \[\[\[cog:(?P<name>[a-z_]+)\]\]\] -->\n)(?P<body>.*?)(<!-- \[\[\[end\]\]\] -->)",
                      re.DOTALL)
HELP_WIDTH = 100

CONFIG_EN = {
    "env": "runtime environment; prod refuses the development secrets",
    "data_dir": "data folder: metadata database (SQLite), lake, logs",
    "database_url": "metadata database URL; default SQLite file in the data folder",
    "secret_key": "signs web sessions and CSRF tokens",
    "master_key": "SM4 master key (32 hex digits) wrapping data keys",
    "max_upload_mb": "largest accepted upload (MB)",
    "upload_max_columns": "most columns an upload may have (else 413)",
    "upload_max_cells": "most cells (rows × columns) of an XLSX/XLS/JSON upload; these formats are read whole",
    "upload_max_unzipped_mb": "largest unpacked size of an XLSX upload (MB)",
    "upload_max_zip_ratio": "largest compression ratio of an XLSX upload (unpacked ÷ packed): no zip bombs",
    "upload_max_json_depth": "deepest nesting of a JSON upload",
    "upload_max_name_chars": "longest column name (header cell) of an upload, in characters",
    "ingest_missing_values": "placeholders read as missing (NULL) on ingest (JSON array; whole cell, any case, "
                             "full-width forms too); an entry may save its own list",
    "profile_max_columns": "most columns a file profile (/quality/profile) takes",
    "quality_suggest_enum_max": "suggested rules: a text column with at most this many distinct values (each seen "
                                "10 times on average) gets a code-list (enum) rule",
    "query_timeout_s": "time limit of one SQL sandbox statement (s)",
    "query_max_rows": "row cap of one SQL sandbox result",
    "page_size_max": "largest page size of paged endpoints",
    "datastore_rows_max": "most rows one CKAN DataStore call returns (as CKAN's ckan.datastore.search.rows_max); a "
                          "larger limit is capped and the answer says so",
    "result_max_bytes": "bytes of one JSON page (SQL query, CKAN data API, sharing API); a longer page is cut "
                        "and says so",
    "download_max_bytes": "bytes of one query-result download (CSV/XLSX/Parquet); more is refused with 413",
    "default_language": "default UI language",
    "timezone": "zone of the times shown in pages, exports and reports (IANA name); stored as UTC",
    "node_code": "this node's code (region code)",
    "redis_url": "Redis URL (rate limits, optional)",
    "session_max_age_s": "lifetime of a web login session (s)",
    "password_min_length": "shortest accepted password (GB/T 39786 level 3: at least 8)",
    "login_max_failures": "failed logins in a row that lock an account",
    "login_ip_max_failures": "failed logins in a row that block a client address",
    "login_lockout_s": "first lock-out (s); each further one doubles",
    "login_lockout_max_s": "longest lock-out (s)",
    "analysis_min_group": "fewest rows each value of an SQL indicator published beyond its owner department "
                          "aggregates (minimum group size k)",
    "duckdb_threads": "DuckDB threads",
    "duckdb_memory_limit": "DuckDB memory limit",
    "engine": "default engine: duckdb (in-process) or spark (every sandbox query, quality check and masked "
              "export runs on Spark)",
    "spark_master": "where Spark runs: local[N], standalone spark://host:7077, Spark Connect sc://host:15002, "
                    "yarn or k8s://https://… (see docs/scale-out.md)",
    "spark_resources": "resource codes that run on Spark even when the default engine is duckdb (comma-separated)",
    "spark_route_min_mb": "resources whose data version is at least this size (MB) run on Spark "
                          "(unset: no size routing)",
    "spark_conf": "extra Spark settings (spark.key=value, separated by ;), e.g. executor memory, S3/HDFS access",
    "spark_lake_uri": "the lake root as Spark executors see it (file:///shared/path, hdfs://…, s3a://…); "
                      "default: the local lake path",
    "max_concurrency": "requests handled at once; more wait in line, and get 503 when the wait runs out "
                       "(health checks exempt)",
    "queue_timeout_s": "longest wait in line for a request (s): one expected to wait longer gets 503 with "
                       "Retry-After on arrival, one whose wait runs out gets it then",
    "shutdown_timeout_s": "longest shutdown after SIGTERM (s): requests in progress get 60 % of it, "
                          "then the process is ended",
    "workers": "worker processes of `shudata serve` (one port); on a multi-core machine, the number of cores; "
               "the concurrency limit is per worker",
    "tracemalloc_s": "memory diagnosis: every so many seconds, log the source lines whose Python allocations grew "
                     "most, malloc in use and GC pauses (0: off; slows the server)",
    "db_pool_size": "metadata database connection pool; default the concurrency limit plus 8",
}


# -- configuration ------------------------------------------------------------------------------

def _default(field: Any) -> str:
    if field.is_required():
        return "（必填 / required）"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "（空 / unset）"
    return f"`{value}`"


def config_block() -> str:
    """Markdown table: setting, environment variable, default, meaning (zh / en)."""
    from shudata.core.config import Settings

    lines = ["| 设置 setting | 环境变量 env var | 默认值 default | 含义 meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        meaning = " / ".join(p for p in (field.description or "", CONFIG_EN.get(name, "")) if p)
        lines.append(f"| `{name}` | `SHUDATA_{name.upper()}` | {_default(field)} | {meaning} |")
    return "\n".join(lines) + "\n"


# -- CLI -----------------------------------------------------------------------------------------

@functools.cache
def cli_commands() -> list[tuple[str, ...]]:
    """Every command path of the Typer app, groups included, e.g. ``("catalog", "import")``."""
    import typer

    from shudata.cli.main import app

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        if hasattr(cmd, "list_commands"):  # a group (Typer vendors its own click)
            ctx = typer.Context(cmd)
            for name in sorted(cmd.list_commands(ctx)):
                sub = cmd.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    yield from walk(sub, (*path, name))

    return list(walk(typer.main.get_command(app), ()))


@functools.cache
def _help(path: tuple[str, ...]) -> str:
    import typer.rich_utils as ru
    from typer.testing import CliRunner

    from shudata.cli.main import app

    saved = ru.MAX_WIDTH, ru.FORCE_TERMINAL, ru.COLOR_SYSTEM
    ru.MAX_WIDTH, ru.FORCE_TERMINAL, ru.COLOR_SYSTEM = HELP_WIDTH, False, None
    try:
        result = CliRunner().invoke(app, [*path, "--help"], prog_name="shudata",
                                    env={"COLUMNS": str(HELP_WIDTH), "NO_COLOR": "1"})
    finally:
        ru.MAX_WIDTH, ru.FORCE_TERMINAL, ru.COLOR_SYSTEM = saved
    text = "\n".join(line.rstrip() for line in result.output.splitlines())
    return text.strip("\n")


def cli_block() -> str:
    """One section per command with its ``--help`` output."""
    parts = []
    for path in cli_commands():
        title = " ".join(("shudata", *path))
        parts.append(f"### `{title}`\n\n```text\n{_help(path)}\n```\n")
    return "\n".join(parts)


# -- API -----------------------------------------------------------------------------------------

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def openapi_schema() -> dict[str, Any]:
    """The OpenAPI document of an app built on a throw-away data folder (no database is touched)."""
    from shudata.core.config import Settings
    from shudata.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(env="test", data_dir=Path(tmp)), migrate=False)
        try:
            return app.openapi()
        finally:
            app.state.runtime.close()


def api_routes() -> list[tuple[str, str, str, str]]:
    """``(path, METHOD, tag, summary)`` of every ``/api/v1`` operation, sorted by tag then path."""
    rows = []
    for path, item in openapi_schema()["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method in HTTP_METHODS:
            if (op := item.get(method)) is not None:
                tag = str((op.get("tags") or [""])[0])
                summary = op.get("summary") or (op.get("description") or "").strip().split("\n")[0]
                rows.append((path, method.upper(), tag, summary.replace("|", "\\|")))
    return sorted(rows, key=lambda r: (r[2], r[0], HTTP_METHODS.index(r[1].lower())))


def api_block() -> str:
    """Markdown table of the routes, grouped by tag."""
    lines = ["| 方法 method | 路径 path | 分组 tag | 说明 summary |", "|---|---|---|---|"]
    for path, methods, tag, summary in api_routes():
        lines.append(f"| {methods} | `{path}` | {tag} | {summary} |")
    return "\n".join(lines) + "\n"


# -- packages ------------------------------------------------------------------------------------

def packages_block() -> str:
    """Markdown table of the subpackages of ``shudata`` with the first line of their docstring."""
    import importlib
    import pkgutil

    import shudata

    lines = ["| 包 package | 职责 responsibility |", "|---|---|"]
    for info in sorted(pkgutil.iter_modules(shudata.__path__), key=lambda i: i.name):
        if info.ispkg:
            doc = (importlib.import_module(f"shudata.{info.name}").__doc__ or "").strip().split("\n")[0]
            cell = doc.replace("|", "\\|")
            lines.append(f"| `shudata.{info.name}` | {cell} |")
    return "\n".join(lines) + "\n"


# -- permissions ---------------------------------------------------------------------------------

def _who(action: Any) -> str:
    """Who may take ``action``, in both languages."""
    from shudata.core.types import ROLE_LABELS

    if action.scope == "public":
        return "任何人 / anyone"
    if action.scope == "authenticated" or (action.scope == "resource" and not action.roles):
        return "任何登录者 / anyone logged in"
    roles = [r for r in ROLE_LABELS if r in action.roles]
    return "、".join(ROLE_LABELS[r][0] for r in roles) + " / " + ", ".join(ROLE_LABELS[r][1] for r in roles)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


PERMISSION_HEADER = ("| 动作 action | 说明 what | 作用域 scope | 谁可以 who may | 平台管理员 admin "
                     "| 附加检查 extra check |")


def _admin(action: Any) -> str:
    if action.scope in ("authenticated", "public"):
        return "同上 / as above"
    return "总是可以 / always" if action.admin else "仅凭所列角色 / only through a listed role"


def _permission_row(action: Any) -> str:
    check = (action.check.__doc__ or action.check.__name__).strip().split("\n")[0] if action.check else "—"
    return (f"| `{action.name}` | {_cell(action.zh)} / {_cell(action.en)} | `{action.scope}` | {_cell(_who(action))} "
            f"| {_admin(action)} | {_cell(check)} |")


def permissions_block() -> str:
    """The scopes, then one table per package: action, what it does, scope, who, admin, extra check."""
    from shudata.permissions import builtin_actions
    from shudata.security.authz import SCOPE_LABELS

    lines = ["| 作用域 scope | 含义 meaning |", "|---|---|"]
    lines += [f"| `{scope}` | {zh} / {en} |" for scope, (zh, en) in SCOPE_LABELS.items()]
    registry = list(builtin_actions())
    lines += ["", f"共 {len(registry)} 个动作 / {len(registry)} actions."]
    for package in dict.fromkeys(a.name.split(".")[0] for a in registry):
        lines += ["", f"### `{package}`", "", PERMISSION_HEADER, "|---|---|---|---|---|---|"]
        lines += [_permission_row(a) for a in registry if a.name.split(".")[0] == package]
    return "\n".join(lines) + "\n"


# -- error codes ---------------------------------------------------------------------------------

def _call_name(node: Any) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def error_codes() -> dict[tuple[str, str], tuple[int, set[str]]]:
    """``{(code, error class): (HTTP status, {module, …})}`` for every code ``src/shudata`` raises: a
    constant ``code=`` passed to an error class (``shudata.core.errors`` and its subclasses elsewhere)
    or to a helper that builds one from its ``code`` parameter, and every subclass's ``default_code``."""
    from shudata.core import errors

    src = ROOT / "src" / "shudata"
    trees = [(p.relative_to(src).with_suffix("").as_posix().replace("/", "."), ast.parse(p.read_text("utf-8")))
             for p in sorted(src.rglob("*.py"))]
    status = {n: o.status for n, o in vars(errors).items()
              if isinstance(o, type) and issubclass(o, errors.ShudataError)}
    own: dict[str, str] = {}  # subclass -> its default_code
    grew = True
    while grew:  # subclasses defined outside core/errors.py take their base's status
        grew = False
        for _, tree in trees:
            for n in ast.walk(tree):
                base = next((b for b in map(_call_name, getattr(n, "bases", [])) if b in status), None)
                if isinstance(n, ast.ClassDef) and n.name not in status and base:
                    status[n.name], grew = status[base], True
                    own.update((n.name, str(a.value.value)) for a in ast.walk(n) if isinstance(a, ast.Assign)
                               and any(_call_name(t) == "default_code" for t in a.targets)
                               and isinstance(a.value, ast.Constant))
                    own.update((n.name, str(k.value.value)) for a in ast.walk(n) if isinstance(a, ast.Call)
                               and _call_name(a.func) == "__init__" for k in a.keywords
                               if k.arg == "code" and isinstance(k.value, ast.Constant))
    helpers: dict[str, str] = {}  # a function with a ``code`` parameter -> the class it builds
    for _, tree in trees:
        for f in ast.walk(tree):
            if isinstance(f, ast.FunctionDef) and "code" in [a.arg for a in f.args.args + f.args.kwonlyargs]:
                helpers.update((f.name, str(_call_name(c.func))) for c in ast.walk(f) if isinstance(c, ast.Call)
                               and _call_name(c.func) in status and any(
                                   k.arg == "code" and isinstance(k.value, ast.Name) and k.value.id == "code"
                                   for k in c.keywords))
    out: dict[tuple[str, str], tuple[int, set[str]]] = {}
    for module, tree in trees:
        for c in ast.walk(tree):
            found: tuple[str, str] | None = None
            if isinstance(c, ast.ClassDef) and c.name in own:
                found = (own[c.name], c.name)
            elif isinstance(c, ast.Call):
                cls = _call_name(c.func) or ""
                cls = helpers.get(cls, cls)
                code = next((k.value for k in c.keywords if k.arg == "code"), None)
                if cls in status and isinstance(code, ast.Constant) and isinstance(code.value, str):
                    found = (code.value, cls)
            if found:
                out.setdefault(found, (status[found[1]], set()))[1].add(module)
    return out


def errors_block() -> str:
    """One row per (code, class): HTTP status, class, the modules that raise it."""
    codes = error_codes()
    n = len({code for code, _ in codes})
    lines = [f"共 {n} 个错误码 / {n} error codes.", "",
             "| 错误码 code | HTTP | 类 class | 抛出位置 raised in |", "|---|---|---|---|"]
    for (code, cls), (http, modules) in sorted(codes.items()):
        lines.append(f"| `{code}` | {http} | `{cls}` | {', '.join(f'`{m}`' for m in sorted(modules))} |")
    return "\n".join(lines) + "\n"


# -- audit events --------------------------------------------------------------------------------

def audit_events_block() -> str:
    """One row per kind of audit event, by name."""
    from shudata.audit.events import EVENTS

    lines = [f"共 {len(EVENTS)} 种事件 / {len(EVENTS)} kinds of event.", "",
             "| 名称 name (stored action) | 类 class | 资源类型 resource type | 记录什么 what it records |",
             "|---|---|---|---|"]
    for name in sorted(EVENTS):
        kind = EVENTS[name]
        what = " ".join((kind.__doc__ or "").split())
        rtype = f"`{kind.resource_type}`" if kind.resource_type else "—"
        lines.append(f"| `{name}` | `{kind.__name__}` | {rtype} | {_cell(what)} |")
    return "\n".join(lines) + "\n"


GENERATORS: dict[str, Callable[[], str]] = {"config": config_block, "cli": cli_block, "api": api_block,
                                            "packages": packages_block, "permissions": permissions_block,
                                            "errors": errors_block, "audit_events": audit_events_block}


# -- files ---------------------------------------------------------------------------------------

def render(text: str, cache: dict[str, str] | None = None) -> str:
    """``text`` with every marker block regenerated (unknown block names are an error)."""
    cache = {} if cache is None else cache

    def body(m: re.Match[str]) -> str:
        name = m["name"]
        if name not in GENERATORS:
            raise KeyError(f"unknown generated block {name!r}")
        if name not in cache:
            cache[name] = GENERATORS[name]()
        return m.group(1) + cache[name] + m.group(4)

    return BLOCK_RE.sub(body, text)


def drifted(files: tuple[Path, ...] = FILES) -> list[Path]:
    """Files whose generated blocks differ from what the generators produce now."""
    cache: dict[str, str] = {}
    return [p for p in files if p.exists() and render(p.read_text(encoding="utf-8"), cache)
            != p.read_text(encoding="utf-8")]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = drifted()
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)} (run scripts/gen_docs.py)")
        return 1 if stale else 0
    cache: dict[str, str] = {}
    for p in FILES:
        old = p.read_text(encoding="utf-8")
        new = render(old, cache)
        if new != old:
            p.write_text(new, encoding="utf-8")
            print(f"updated {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
