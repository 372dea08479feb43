"""``shudata market``: the data market (数据流通交易) from the console — tracing a found file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shudata.cli.context import cli_actor, console, handle_errors, runtime
from shudata.cli.market_core_cmd import register as register_core
from shudata.cli.market_records_cmd import ledger_app, rights_app
from shudata.core.errors import InvalidInput
from shudata.market.delivery import service

market_app = typer.Typer(help="数据流通交易 / the data market", no_args_is_help=True)


@market_app.command("trace")
@handle_errors
def trace(
    file: Path = typer.Argument(..., help="发现的疑似泄露文件（CSV、XLSX 或 Parquet）/ the found file"),
    product: str | None = typer.Option(None, "--product", help="只在该数据产品（代码）的交付中查找 / product code"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出结果 / print the verdict as JSON"),
) -> None:
    """溯源：找出泄露文件来自哪个买方（附置信度），或“无匹配” / which buyer a leaked file came from."""
    if not file.is_file():
        raise InvalidInput(f"文件不存在：{file}", f"No such file: {file}", code="file_not_found")
    rt = runtime()
    with rt.transaction() as s:
        verdict = service.trace_file(session=s, settings=rt.settings, actor=cli_actor(), content=file.read_bytes(),
                                     filename=file.name, product_code=product)
    if as_json:
        console.print_json(json.dumps(verdict, ensure_ascii=False))
        return
    if not verdict["matched"]:
        console.print(f"无匹配 / no match（{verdict['message']}；找到的指纹位置 {verdict['positions']} 个）")
        return
    for s_ in verdict["accused"]:
        console.print(f"买方 {s_['participant'] or s_['buyer_id']}（订单 {s_['order']}，{s_['buyer']}）："
                      f"得分 {s_['score']}，置信度 {s_['confidence']:.6f}")
    console.print(f"指纹位置 {verdict['positions']} 个，判定阈值 {verdict['threshold']}，"
                  f"候选买方 {verdict['candidates']} 个，误判上限 {verdict['bound']:g}")


register_core(market_app)
market_app.add_typer(ledger_app, name="ledger")
market_app.add_typer(rights_app, name="rights")
