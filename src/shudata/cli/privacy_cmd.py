"""``shudata scan`` / ``shudata mask`` and ``shudata privacy …`` (keys, policies, anonymise, DP)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from shudata.cli.context import cli_actor, console, err_console, handle_errors, runtime
from shudata.core.errors import InvalidInput
from shudata.privacy import review, service, service_models
from shudata.privacy.entities import ENTITIES
from shudata.privacy.kanon.hierarchy import Hierarchy
from shudata.privacy.operators.base import TECHNIQUE_ZH
from shudata.privacy.policy import Policy, operators
from shudata.privacy.readers import read_file
from shudata.privacy.schemas import (
    BudgetSet,
    ColumnReviewSave,
    KanonRequest,
    KeyCreate,
    PolicySave,
    ScanReportRead,
)

privacy_app = typer.Typer(help="脱敏与去标识化 / desensitization and anonymization", no_args_is_help=True)
key_app = typer.Typer(help="脱敏密钥 / masking keys", no_args_is_help=True)
policy_app = typer.Typer(help="脱敏策略 / masking policies", no_args_is_help=True)
privacy_app.add_typer(key_app, name="key")
privacy_app.add_typer(policy_app, name="policy")


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
    app.command("mask")(mask)
    app.add_typer(privacy_app, name="privacy")


def _spinner(text: str) -> Progress:
    return Progress(SpinnerColumn(), TextColumn(text), TimeElapsedColumn(), console=err_console, transient=True)


def _print_report(rep: ScanReportRead) -> None:
    t = Table(title=f"敏感数据扫描 / scan: {escape(rep.source)}（{rep.rows} 行，报告 #{rep.id}）")
    for col in ("列 column", "实体 entity", "置信度", "分级", "依据 evidence"):
        t.add_column(col)
    for c in rep.columns:
        name = f"{ENTITIES[c.entity].zh} {c.entity}" if c.entity else "-"
        t.add_row(escape(c.column), name, f"{c.confidence:.2f}", str(c.grade) if c.entity else "-", escape(c.evidence))
    console.print(t)
    console.print(f"建议分级 / proposed grade: [bold]{rep.proposed_grade_label}[/]"
                  "（待数据管理员确认 / to be confirmed）")


@handle_errors
def scan(target: str = typer.Argument(..., help="文件路径，或目录资源的代码/别名/名称"),
         as_json: bool = typer.Option(False, "--json", help="每列输出一个 JSON 对象"),
         sample: int = typer.Option(2000, "--sample", min=10, help="每列抽样的值个数"),
         version: int | None = typer.Option(None, "--version", help="资源的数据版本（默认最新）")) -> None:
    """扫描文件或资源中的敏感个人信息并保存报告 / scan for sensitive data and save the report."""
    rt = runtime()
    with _spinner("扫描中 / scanning…"), rt.transaction() as s:
        if Path(target).exists():
            rep = service.scan_file(session=s, actor=cli_actor(), path=Path(target), sample_rows=sample)
        else:
            rep = service.scan_resource(session=s, actor=cli_actor(), settings=rt.settings, resource=target,
                                        version=version, sample_rows=sample)
    if as_json:
        for c in rep.columns:
            typer.echo(json.dumps({"column": c.column, "entity": c.entity, "confidence": c.confidence,
                                   "evidence": c.evidence}, ensure_ascii=False))
        return
    _print_report(rep)


def _policy_arg(policy: str) -> str | Policy:
    p = Path(policy)
    if p.suffix.lower() in (".yaml", ".yml", ".json") or p.exists():
        if not p.is_file():
            raise InvalidInput(f"策略文件不存在：{policy}", f"Policy file not found: {policy}", code="policy_not_found")
        return Policy.from_text(p.read_text(encoding="utf-8"))
    return policy


@handle_errors
def mask(target: str = typer.Argument(..., help="文件路径，或目录资源的代码/别名/名称"),
         policy: str = typer.Option(..., "--policy", "-p", help="策略文件 (YAML/JSON) 或已保存策略的名称"),
         output: Path = typer.Option(..., "--output", "-o", help="输出 Parquet 文件"),
         version: int | None = typer.Option(None, "--version", help="资源的数据版本（默认最新）")) -> None:
    """按策略脱敏并写出 Parquet（写临时文件后改名；闸门检查不通过则不写出）/ mask to Parquet."""
    rt = runtime()
    pol = _policy_arg(policy)
    with _spinner("脱敏中 / masking…"), rt.transaction() as s:
        if Path(target).is_file():
            res = service.mask_file(session=s, actor=cli_actor(), settings=rt.settings, path=Path(target), policy=pol,
                                    dest=output)
        else:
            res = service.mask_resource(session=s, actor=cli_actor(), settings=rt.settings, resource=target,
                                        policy=pol, dest=output, version=version)
    t = Table(title=f"已脱敏 / masked: {escape(res.source)} → {escape(str(output))}（{res.rows} 行）")
    t.add_column("列 column")
    t.add_column("算子 operator")
    for col, op in res.columns.items():
        t.add_row(escape(col), op)
    console.print(t)
    console.print(f"脱敏闸门 / gate: [green]通过 passed[/]（抽检 {res.gate.get('rows_scanned', 0)} 行）"
                  + (f"；密钥 keys: {', '.join(res.key_ids)}" if res.key_ids else ""))


@privacy_app.command("operators")
def list_operators() -> None:
    """列出脱敏算子（GB/T 37964 技术、是否可逆）/ list masking operators."""
    t = Table(title="脱敏算子 / operators")
    for col in ("name", "名称", "技术 technique", "可逆 reversible"):
        t.add_column(col)
    reg = operators()
    for name in reg.names():
        cls = reg.get(name)
        technique = f"{TECHNIQUE_ZH[cls.technique]} {cls.technique.value}"
        t.add_row(name, cls.zh, technique, "是" if cls.reversible else "否")
    console.print(t)


@key_app.command("create")
@handle_errors
def key_create(key_id: str = typer.Argument(..., help="密钥编号"),
               purpose: str = typer.Option("", "--purpose", help="用途说明")) -> None:
    """生成新的数据密钥（由主密钥包裹保存）/ create a managed key."""
    rt = runtime()
    with rt.transaction() as s:
        k = service.create_key(session=s, actor=cli_actor(), settings=rt.settings,
                               data=KeyCreate(key_id=key_id, purpose=purpose))
    console.print(f"[green]已创建密钥[/] {escape(k.key_id)} / key created")


@key_app.command("list")
@handle_errors
def key_list() -> None:
    """列出密钥 / list keys."""
    rt = runtime()
    with rt.transaction() as s:
        for k in service.list_keys(session=s, actor=cli_actor()):
            console.print(f"{escape(k.key_id)}\t{'启用' if k.active else '停用'}\t{escape(k.purpose)}")


@policy_app.command("save")
@handle_errors
def policy_save(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="YAML/JSON 策略文件"),
                resource: str | None = typer.Option(None, "--resource", help="按该资源的表结构校验")) -> None:
    """校验并保存策略 / validate and save a policy."""
    rt = runtime()
    with rt.transaction() as s:
        p = service.save_policy(session=s, actor=cli_actor(), settings=rt.settings,
                                data=PolicySave(text=file.read_text(encoding="utf-8"), resource=resource))
    console.print(f"[green]已保存策略[/] {escape(p.name)}（第 {p.revision} 版，场景 {p.profile}）")


@policy_app.command("list")
@handle_errors
def policy_list() -> None:
    """列出策略 / list policies."""
    rt = runtime()
    with rt.transaction() as s:
        for p in service.list_policies(session=s, actor=cli_actor()):
            console.print(f"{escape(p.name)}\t{p.profile}\t第 {p.revision} 版")


def _hierarchy_opts(items: list[str]) -> dict[str, Hierarchy]:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            raise InvalidInput(f"层次写法应为 列=文件：{item}", f"Use COLUMN=FILE: {item}", code="bad_hierarchy")
        out[name] = Hierarchy.from_csv(name, Path(path))
    return out


@privacy_app.command("anonymise")
@handle_errors
def anonymise(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="数据文件"),
              qi: str = typer.Option(..., "--qi", help="准标识符，逗号分隔"),
              k: int = typer.Option(5, "--k", min=1),
              suppression: float = typer.Option(0.0, "--suppression", min=0.0, max=1.0, help="记录抑制上限（0-1）"),
              metric: str = typer.Option("loss", "--metric"),
              sensitive: str | None = typer.Option(None, "--sensitive"),
              l_div: int | None = typer.Option(None, "--l"),
              t_close: float | None = typer.Option(None, "--t"),
              hierarchy: list[str] = typer.Option([], "--hierarchy", "-H", help="列=ARX 层次文件，可重复"),
              output: Path | None = typer.Option(None, "--output", "-o")) -> None:
    """最优泛化（k-匿名/l-多样性/t-紧密性）并报告重识别风险 / optimal anonymisation with risk."""
    req = KanonRequest(quasi_identifiers=[q.strip() for q in qi.split(",") if q.strip()], k=k, suppression=suppression,
                       metric=metric, sensitive=sensitive, l_diversity=l_div, t_closeness=t_close)
    table = read_file(file, as_text=True)
    with _spinner("搜索最优泛化 / searching the lattice…"):
        a = service_models.anonymise_table(table, req, _hierarchy_opts(hierarchy))
    if output is not None:
        service_models.write_parquet_atomic(a.table, output)
    if a.result.optimum is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("a.result.optimum is unexpectedly None")
    console.print(f"最优泛化层级 / levels: {a.levels}；{req.metric}={a.result.optimum.value:.4f}；抑制 "
                  f"{a.result.optimum.suppressed} 行；评估 {a.result.evaluated}/{a.result.lattice_size} 个节点，"
                  f"{a.result.seconds:.3f} 秒")
    t = Table(title="重识别风险 / re-identification risk")
    for col in ("", "之前 before", "之后 after"):
        t.add_column(col)
    for field in ("prosecutor_max", "prosecutor_avg", "journalist_max", "marketer", "unique_share"):
        t.add_row(field, f"{getattr(a.before, field):.4f}", f"{getattr(a.after, field):.4f}")
    console.print(t)


@privacy_app.command("review")
@handle_errors
def review_cmd(resource: str = typer.Argument(..., help="资源代码、别名或名称"),
               column: str = typer.Argument(..., help="列名"),
               reason: str = typer.Option(..., "--reason", help="理由（必填）"),
               entity: str | None = typer.Option(None, "--entity", help="改判的实体类型；不给出表示不属个人信息"),
               withdraw: bool = typer.Option(False, "--withdraw", help="撤销复核，恢复自动识别")) -> None:
    """复核一列的识别结果（记录理由并审计）/ overrule what detection found in a column.

    通过校验的身份证号、手机号、银行卡号不因复核而放行 / validated identifiers are still refused."""
    rt = runtime()
    with rt.transaction() as s:
        r = review.review_column(session=s, actor=cli_actor(), settings=rt.settings,
                                 data=ColumnReviewSave(resource=resource, column=column, entity=entity, reason=reason,
                                                       withdraw=withdraw))
    what = "撤销复核" if r.withdrawn else (r.entity or "不属个人信息")
    console.print(f"[green]已记录复核[/] {escape(r.column)}：{escape(what)}（原识别 {r.detected or '-'}）")


@privacy_app.command("reviews")
@handle_errors
def reviews_cmd(resource: str = typer.Argument(..., help="资源代码、别名或名称")) -> None:
    """列出资源的列复核记录（新的在前）/ list a resource's column reviews, newest first."""
    rt = runtime()
    with rt.transaction() as s:
        for r in review.list_reviews(session=s, actor=cli_actor(), resource=resource):
            what = "撤销" if r.withdrawn else (r.entity or "不属个人信息")
            console.print(f"{r.created_at:%Y-%m-%d %H:%M}\t{escape(r.column)}\t{escape(what)}\t"
                          f"{escape(r.reviewed_by)}\t{escape(r.reason)}")


@privacy_app.command("budget")
@handle_errors
def budget(consumer: str = typer.Argument(...), epsilon: float = typer.Argument(..., min=0.0)) -> None:
    """设置用户的差分隐私预算 ε / set a consumer's privacy budget."""
    rt = runtime()
    with rt.transaction() as s:
        b = service_models.set_budget(session=s, actor=cli_actor(), data=BudgetSet(consumer=consumer,
                                                                                   epsilon_total=epsilon))
    console.print(f"{escape(b.consumer)}: ε 总额 {b.epsilon_total:g}，已用 {b.epsilon_spent:g}")


@privacy_app.command("decrypt")
@handle_errors
def decrypt(tokens: list[str] = typer.Argument(..., help="SM4 密文（key_id@资源代码:hex，旧格式 key_id:hex）"),
            resource: str | None = typer.Option(None, "--resource", help="旧格式密文的来源资源（代码或别名）")) -> None:
    """解密 SM4 脱敏结果（控制台即平台本身，持有主密钥；网页与 API 仅限来源资源的提供方部门）/ decrypt SM4 output."""
    rt = runtime()
    with rt.transaction() as s:
        for t in service.decrypt_values(session=s, actor=cli_actor(), settings=rt.settings, tokens=list(tokens),
                                        resource=resource):
            typer.echo(t if t is not None else "")
