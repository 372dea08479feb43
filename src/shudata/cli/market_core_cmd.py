"""``shudata market verify-contract | auto-accept | books``: contracts, acceptance deadlines and the
settlement books of the market core, from the console."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shudata.cli.context import cli_actor, console, handle_errors, runtime
from shudata.core.errors import InvalidInput
from shudata.market import contracts as C
from shudata.market import orders as O


@handle_errors
def verify_contract(
    file: Path = typer.Argument(..., help="合同文件（*.contract.json）/ the contract file"),
    exchange_key: str | None = typer.Option(
        None, "--exchange-key", help="交易所 SM2 公钥（十六进制）；不填时使用本平台的交易所公钥（若有数据目录）"),
    offline: bool = typer.Option(False, "--offline", help="不读取本平台数据，只验证文件自身 / check the file alone"),
) -> None:
    """验证合同文件：摘要与买方、卖方、交易所三方的 SM2 签名 / verify the three signatures of a contract."""
    if not file.is_file():
        raise InvalidInput(f"文件不存在：{file}", f"No such file: {file}", code="file_not_found")
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("合同文件不是有效的 JSON", "The contract file is not valid JSON",
                           code="contract_file_invalid") from exc
    key = exchange_key
    if key is None and not offline:
        rt = runtime()
        with rt.transaction() as s:
            key = O.exchange_public_key(s, rt.settings)
    v = C.verify_document(doc, exchange_key=key)
    for party in C.PARTIES:
        mark = "✓" if v.parties.get(party) else "✗"
        console.print(f"{mark} {C.PARTY_LABELS[party]}签名 / {party}")
    console.print(f"{'✓' if v.digest_ok else '✗'} 合同摘要（SM3）/ digest")
    if not v.ok:
        for problem in v.problems:
            console.print(f"  - {problem}")
        console.print(f"合同 {v.number or '?'}：验证失败 / INVALID")
        raise typer.Exit(1)
    console.print(f"合同 {v.number}：三方签名有效 / VALID")


@handle_errors
def auto_accept() -> None:
    """到期处理：验收期满且未提出争议的订单自动验收，签署付款期限已过的合同失效、订单终止 /
    accept deliveries whose acceptance period has passed; terminate orders whose contract expired."""
    rt = runtime()
    with rt.transaction() as s:
        done = O.auto_accept_due(session=s, actor=cli_actor())
        expired = O.expire_contracts(session=s, actor=cli_actor())
    console.print(f"自动验收 {len(done)} 个订单 / auto-accepted {len(done)}: {', '.join(done) or '-'}")
    console.print(f"合同失效终止 {len(expired)} 个订单 / terminated {len(expired)}: {', '.join(expired) or '-'}")


@handle_errors
def books(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出 / print JSON")) -> None:
    """结算账户余额与对账（借贷相抵、合计为零）/ the settlement books and their reconciliation."""
    rt = runtime()
    with rt.transaction() as s:
        out = O.books(session=s, actor=cli_actor())
    if as_json:
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    for b in out["balances"]:
        console.print(f"{b['account']:<14} {b['participant_id'] or '-':>6} {b['balance_fen'] / 100:>16,.2f} 元")
    r = out["reconciliation"]
    console.print(f"不平衡分录 {r['unbalanced_journals']} 笔，余额合计 {r['total_fen']} 分 / "
                  f"unbalanced {r['unbalanced_journals']}, total {r['total_fen']}")


def register(app: typer.Typer) -> None:
    """Add the market core's commands to ``shudata market``."""
    app.command("verify-contract")(verify_contract)
    app.command("auto-accept")(auto_accept)
    app.command("books")(books)
