"""``shudata sharing``: workflow jobs (escalation, pushes) and push verification."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from shudata.cli.context import cli_actor, console, handle_errors, runtime
from shudata.sharing import cleanup, push, service

sharing_app = typer.Typer(help="共享交换 / sharing and exchange", no_args_is_help=True)


@sharing_app.command("escalate")
@handle_errors
def escalate() -> None:
    """将超过答复时限的有条件共享申请标记超期并上报平台管理员 / escalate overdue requests."""
    rt = runtime()
    with rt.transaction() as s:
        ids = service.escalate_overdue(session=s, actor=cli_actor())
    console.print(f"已督办 {len(ids)} 个超期申请：{', '.join(map(str, ids)) or '无'}")


@sharing_app.command("push")
@handle_errors
def run_push() -> None:
    """发送新数据版本的签名推送与流程通知 Webhook（失败的按退避重试）/ send pushes and notification webhooks."""
    rt = runtime()
    with rt.transaction() as s:
        queued = push.enqueue_new_versions(session=s, settings=rt.settings)
        delivered, failed = push.deliver_pushes(session=s, transport=push.http_transport)
        notified, n_failed = push.deliver_notifications(session=s, settings=rt.settings, transport=push.http_transport)
    console.print(f"数据推送：新排队 {queued}，已送达 {delivered}，失败待重试 {failed}")
    if rt.settings.sharing_webhook_url:
        console.print(f"流程通知：已送达 {notified}，失败待重试 {n_failed}")


@sharing_app.command("cleanup")
@handle_errors
def run_cleanup() -> None:
    """删除已终止的共享授权与交易交付授权的备好文件 / delete ended grants' and entitlements' files."""
    rt = runtime()
    done = cleanup.run(rt.transaction, rt.settings, trigger="cli")
    for folder in done.folders:
        console.print(f"已删除 {folder}")
    console.print(f"清理完成：共享授权 {len(done.grants)} 个、交易交付授权 {done.entitlements} 个，"
                  f"目录 {len(done.folders)} 个、文件 {done.files} 个、{done.bytes} 字节")


@sharing_app.command("verify-push")
def verify_push(payload: Path = typer.Argument(..., exists=True, help="收到的推送正文文件"),
                signature: str = typer.Option(..., help="X-Shudata-Signature 头的值"),
                key: str = typer.Option(..., help="发送节点的 SM2 公钥（GET /api/v1/federation/identity）")) -> None:
    """校验收到的推送签名；无效时退出码为 1 / verify a received push; exit 1 when invalid."""
    if push.verify_push(payload.read_bytes(), signature, key):
        console.print("[green]签名有效[/]：推送来自该节点且未被篡改")
        return
    console.print("[bold red]签名无效[/]：内容被篡改或不是该节点签发")
    sys.exit(1)
