"""``shudata node``: federation between platform nodes (互联互通)."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import select

from shudata.cli.context import cli_actor, console, handle_errors, runtime
from shudata.sharing.nodes import log, service
from shudata.sharing.nodes.models import NodeMessage

node_app = typer.Typer(help="平台节点互联 / federation between nodes", no_args_is_help=True)


@node_app.command("identity")
@handle_errors
def show_identity() -> None:
    """显示本节点代码与 SM2 公钥（首次运行时生成密钥对）/ show this node's code and public key."""
    rt = runtime()
    with rt.transaction() as s:
        node = service.identity(s, rt.settings)
        console.print(f"节点 {node.code} {node.name}\nSM2 公钥 {node.public_key}")


@node_app.command("trust")
@handle_errors
def trust(code: str = typer.Argument(..., help="对方节点代码"), name: str = typer.Option(..., help="名称"),
          url: str = typer.Option(..., help="对方地址，如 http://10.0.0.2:8000"),
          key: str = typer.Option(..., help="对方 SM2 公钥（128 位十六进制）")) -> None:
    """登记受信任的节点 / trust a peer node."""
    rt = runtime()
    with rt.transaction() as s:
        service.add_peer(session=s, actor=cli_actor(), code=code, name=name, base_url=url, public_key=key)
    console.print(f"[green]已登记节点[/] {code} {name}")


@node_app.command("publish")
@handle_errors
def publish(peer: str = typer.Argument(..., help="接收方节点代码（通常为省级节点）")) -> None:
    """将本节点的共享清单发布给对方节点 / publish this node's sharing list to a peer."""
    rt = runtime()
    with rt.transaction() as s:
        item = service.publish_catalog(session=s, actor=cli_actor(), settings=rt.settings, peer_code=peer)
    console.print(f"已签名并排队：消息 {item.msg_id}；运行 [bold]shudata node deliver[/] 发送")


@node_app.command("deliver")
@handle_errors
def deliver() -> None:
    """发送待发消息（失败的按退避时间重试）/ deliver queued messages."""
    rt = runtime()
    with rt.transaction() as s:
        sent, failed = service.deliver_outbox(session=s, transport=service.http_transport)
    console.print(f"已发送 {sent} 条，失败待重试 {failed} 条")


@node_app.command("log")
@handle_errors
def show_log(limit: int = typer.Option(20, help="条数")) -> None:
    """查看节点消息日志并校验其哈希链 / show and verify the message log."""


    rt = runtime()
    with rt.transaction() as s:
        rows = s.scalars(select(NodeMessage).order_by(NodeMessage.seq.desc()).limit(limit)).all()
        problems = log.verify(s)
    table = Table("序号", "方向", "类型", "发送方", "接收方", "状态", "原因")
    for m in rows:
        table.add_row(str(m.seq), m.direction, m.msg_type, m.sender, m.recipient, m.status, m.reason or "")
    console.print(table)
    console.print("[green]消息日志哈希链完整[/]" if not problems else "[red]" + "\n".join(problems))
