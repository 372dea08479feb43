"""``shudata market ledger …`` (存证账本) and ``shudata market rights …`` (确权登记): the same
services as ``/api/v1/market/ledger`` and ``/api/v1/market/rights``, run as the platform."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from shudata.cli.context import cli_actor, console, handle_errors, runtime
from shudata.core.errors import InvalidInput
from shudata.market.ledger import service as ledger
from shudata.market.ledger.chain import LedgerReport
from shudata.market.rights import service as rights
from shudata.market.rights.certificate import certificate_pdf, verify_url
from shudata.market.rights.schemas import RegistrationCreate
from shudata.market.rights.states import RIGHT_LABELS, STATUS_LABELS, TYPE_LABELS

ledger_app = typer.Typer(help="存证账本：SM3 哈希链与交易所 SM2 签名检查点 / the market ledger", no_args_is_help=True)
rights_app = typer.Typer(help="数据确权登记 / rights registration", no_args_is_help=True)


def print_ledger_report(report: LedgerReport) -> None:
    if report.ok:
        console.print(f"[green]存证账本完整[/]：已校验 {report.checked} 条记录、"
                      f"{report.seals_checked} 个 SM2 签名检查点（签名覆盖至第 {report.signed_through} 条，"
                      f"其后 {report.unsigned_tail} 条待签）/ ledger intact")
        return
    console.print(f"[bold red]存证账本被破坏[/]：{len(report.problems)} 处问题 / ledger broken")
    for p in report.problems:
        console.print(f"  序号 {p.seq}  ({p.kind})  {escape(p.message)}")


@ledger_app.command("verify")
@handle_errors
def ledger_verify() -> None:
    """重算全部哈希并校验每个检查点的 SM2 签名；发现篡改时退出码为 1 / verify; exit 1 on tampering."""
    rt = runtime()
    with rt.transaction() as s:
        report = ledger.verify_ledger(session=s, settings=rt.settings, actor=cli_actor())
    print_ledger_report(report)
    if not report.ok:
        sys.exit(1)


@ledger_app.command("seal")
@handle_errors
def ledger_seal() -> None:
    """补签到期的检查点并签署当前链头 / sign due checkpoints and the head."""
    rt = runtime()
    with rt.transaction() as s:
        made = ledger.seal_now(session=s, settings=rt.settings, actor=cli_actor())
    console.print(f"已签署 {len(made)} 个检查点 / signed: {', '.join(str(c.seq) for c in made) or '—'}")


@ledger_app.command("show")
@handle_errors
def ledger_show(limit: int = typer.Option(20, min=1, max=1000, help="条数 / entries"),
                kind: str | None = typer.Option(None, help="事件类型，如 market.order.settle / event kind")) -> None:
    """最新的存证记录 / the newest entries."""
    rt = runtime()
    with rt.transaction() as s:
        total, rows = ledger.read_entries(session=s, actor=cli_actor(), limit=limit, kind=kind)
        table = Table("序号", "时间", "事件", "对象", "操作者", "哈希")
        for e in rows:
            table.add_row(str(e.seq), e.ts.isoformat(timespec="seconds"), e.kind, f"{e.subject_type}:{e.subject_id}",
                          e.actor, e.hash[:16] + "…")
    console.print(table)
    console.print(f"共 {total} 条 / {total} entries")


@ledger_app.command("prove")
@handle_errors
def ledger_prove(digest: str = typer.Argument(..., help="存证哈希（SM3，64 位十六进制）/ entry hash")) -> None:
    """存证查询：记录是否在账本中、是否完好、是否经交易所签名 / look up an entry hash."""
    rt = runtime()
    with rt.transaction() as s:
        proof = ledger.lookup(session=s, settings=rt.settings, actor=cli_actor(), digest=digest)
    console.print_json(json.dumps(proof.__dict__, ensure_ascii=False))
    if proof.found and not (proof.hash_valid and (proof.sealed_by is None or
                                                  (proof.signature_valid and proof.chain_to_seal_valid))):
        sys.exit(1)


@rights_app.command("apply")
@handle_errors
def rights_apply(file: Path = typer.Argument(..., help="登记申请（JSON，字段同 POST /api/v1/market/rights）")) -> None:
    """以交易所名义代为提交确权登记申请（须给出 applicant_id）/ file a registration from JSON."""
    try:
        data = RegistrationCreate.model_validate_json(file.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise InvalidInput(f"登记申请文件无效：{exc}", f"Invalid registration file: {exc}",
                           code="validation_error", details={"field": "file"}) from None
    rt = runtime()
    with rt.transaction() as s:
        reg = rights.apply(session=s, settings=rt.settings, actor=cli_actor(), data=data)
        console.print(f"已提交 {reg.number}（{RIGHT_LABELS[reg.right]} · {TYPE_LABELS[reg.reg_type]}）")


@rights_app.command("list")
@handle_errors
def rights_list(status: str | None = typer.Option(None, help="submitted | notice | objected | registered …")) -> None:
    """确权登记列表 / registrations."""
    rt = runtime()
    with rt.transaction() as s:
        table = Table("申请编号", "权利", "类型", "登记对象", "状态", "公示至", "证书")
        for r in rights.list_registrations(session=s, actor=cli_actor(), status=status):
            table.add_row(r.number, RIGHT_LABELS.get(r.right, r.right), TYPE_LABELS.get(r.reg_type, r.reg_type),
                          r.subject, STATUS_LABELS.get(r.status, r.status),
                          r.notice_end.isoformat() if r.notice_end else "", r.certificate_number or "")
    console.print(table)


@rights_app.command("review")
@handle_errors
def rights_review(number: str, approve: bool = typer.Option(..., "--approve/--refuse"),
                  note: str = typer.Option("", help="审查意见（不予登记时必填）/ reason")) -> None:
    """合规审查：通过后进入公示 / compliance review."""
    rt = runtime()
    with rt.transaction() as s:
        reg = rights.review(session=s, settings=rt.settings, actor=cli_actor(), number=number, approve=approve,
                            note=note)
        console.print(f"{reg.number}：{STATUS_LABELS[reg.status]}"
                      + (f"，公示至 {reg.notice_end.isoformat()}" if reg.notice_end else ""))


@rights_app.command("conclude-due")
@handle_errors
def rights_conclude_due(on: str | None = typer.Option(None, help="按此日期判断（YYYY-MM-DD），默认今天")) -> None:
    """登记公示期满且无待处理异议的申请并签发证书（每日任务）/ conclude every due registration."""
    day = dt.date.fromisoformat(on) if on else None
    rt = runtime()
    with rt.transaction() as s:
        done = rights.conclude_due(session=s, settings=rt.settings, actor=cli_actor(), on=day)
        for r in done:
            console.print(f"{r.number} → {r.certificate_number or STATUS_LABELS[r.status]}")
    console.print(f"共登记 {len(done)} 件 / {len(done)} concluded")


@rights_app.command("verify")
@handle_errors
def rights_verify(number: str = typer.Argument(..., help="证书编号 / certificate number"),
                  pdf: Path | None = typer.Option(None, "--pdf", help="同时把证书写成 PDF / also write the PDF"),
                  base_url: str = typer.Option("http://localhost:8000", help="查验页地址前缀（二维码）")) -> None:
    """查验登记证书：SM2 签名、与登记簿是否一致、是否有效；无效时退出码为 1 / verify a certificate."""
    rt = runtime()
    with rt.transaction() as s:
        check = rights.verify_certificate(session=s, actor=cli_actor(), number=number)
    if not check.found or check.content is None:
        console.print(f"[bold red]查无此证书[/] {escape(number)}")
        sys.exit(1)
    verdict = "[green]有效[/]" if check.in_force else f"[bold red]无效[/]（{check.status_label}）"
    console.print(f"{check.number}：{verdict}；签名{'有效' if check.signature_valid else '无效'}；"
                  f"{'与登记簿一致' if check.matches_record else '与登记簿不一致'}")
    if pdf is not None:
        pdf.write_bytes(certificate_pdf(check.content, signature=check.signature or "",
                                        public_key=check.public_key or "", url=verify_url(base_url, check.number)))
        console.print(f"证书 PDF：{pdf}")
    if not check.in_force:
        sys.exit(1)
