"""``shudata portal action NAME key=value …``: call a CKAN-compatible action from the console.

The same functions as ``/api/3/action/NAME`` (:mod:`shudata.portal.logic`), with the same
checks: the caller is the anonymous public, or the developer whose ``--apikey`` is given
(有条件开放 rows need one with an approved application). Parameters are written as
``ckanapi action`` takes them: ``key=text`` or ``key:JSON``. The result (not CKAN's
envelope) is printed as JSON; a refusal prints the error and exits non-zero.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import orjson
import typer

from shudata.cli.context import handle_errors, runtime
from shudata.core.errors import InvalidInput
from shudata.portal.logic.context import Context
from shudata.portal.logic.datastore import encode_default
from shudata.portal.logic.params import Params
from shudata.portal.logic.registry import ACTIONS, call_action

DEFAULT_BASE_URL = "http://127.0.0.1:8000"  # `shudata serve`'s default address


def parse_pairs(pairs: list[str]) -> dict[str, Any]:
    """``key=text`` and ``key:JSON`` arguments as one parameter mapping (ckanapi's syntax;
    whichever of ``=`` and ``:`` comes first separates the key).

    >>> parse_pairs(["id=301001-000001", 'filters:{"地区": "成都市"}', "fq=tags:人口"])
    {'id': '301001-000001', 'filters': {'地区': '成都市'}, 'fq': 'tags:人口'}
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        eq, colon = pair.find("="), pair.find(":")
        if eq <= 0 and colon <= 0:
            raise InvalidInput(f"参数应写作 key=value 或 key:JSON：{pair}",
                               f"Write parameters as key=value or key:JSON: {pair}", code="validation_error")
        if colon > 0 and (eq < 0 or colon < eq):
            key, raw = pair[:colon], pair[colon + 1:]
            try:
                out[key] = json.loads(raw)
            except ValueError:
                raise InvalidInput(f"参数 {key} 的值不是有效的 JSON", f"{key}: not valid JSON",
                                   code="validation_error", details={"field": key}) from None
        else:
            out[pair[:eq]] = pair[eq + 1:]
    return out


HELP = ("调用 CKAN 兼容操作，输出 JSON / call a CKAN-compatible action, print JSON.\n\n"
        "与 /api/3/action 相同的函数和检查：默认以公众身份调用，--apikey 以开发者身份（有条件开放数据需已获批）；"
        "拒绝时输出错误并以非零状态退出。\n\n"
        "The same functions and checks as /api/3/action: called as the public, or with --apikey as that "
        "developer (有条件开放 rows need an approved application); a refusal prints the error and exits non-zero.")


def register(app: typer.Typer) -> None:
    app.command("action", help=HELP)(action)


@handle_errors
def action(name: str | None = typer.Argument(None, help="操作名，如 package_search；留空列出全部操作"),
           params: list[str] | None = typer.Argument(None, help="参数：key=文本 或 key:JSON（如 rows=5、"
                                                              "filters:'{\"地区\":\"成都市\"}'）"),
           apikey: str | None = typer.Option(None, "--apikey", "-a",
                                             help="开发者 API 密钥 sdk_…（读取有条件开放数据时需要）"),
           base_url: str | None = typer.Option(None, "--base-url",
                                               help="结果中绝对链接的前缀（默认 SHUDATA_PORTAL_BASE_URL，"
                                                    f"否则 {DEFAULT_BASE_URL}）"),
           ) -> None:
    """调用 CKAN 兼容操作，输出 JSON / call a CKAN-compatible action, print its result as JSON."""
    if name is None:
        typer.echo("\n".join(sorted(ACTIONS)))
        return
    values = parse_pairs(params or [])
    rt = runtime()
    try:
        with rt.transaction() as s:
            ctx = Context.build(session=s, settings=rt.settings, name=name, raw_key=apikey,
                                base_url=DEFAULT_BASE_URL)
            if base_url:
                ctx = replace(ctx, base_url=base_url.rstrip("/"))
            result = call_action(name, ctx, Params(values))
            out = orjson.dumps(result, default=encode_default, option=orjson.OPT_INDENT_2)
        typer.echo(out.decode("utf-8"))
    finally:
        rt.close()
