"""``shudata dept|user|token``: departments, accounts and API tokens."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.table import Table

from shudata.cli.context import cli_actor, console, handle_errors, runtime
from shudata.core.errors import InvalidInput
from shudata.core.types import Role
from shudata.security import service
from shudata.security.schemas import DepartmentCreate, TokenCreate, UserCreate

dept_app = typer.Typer(help="部门管理 / departments", no_args_is_help=True)
user_app = typer.Typer(help="用户管理 / users", no_args_is_help=True)
token_app = typer.Typer(help="API 令牌 / API tokens", no_args_is_help=True)


def _validate(model: type, **data: object) -> object:
    try:
        return model.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        msg = "；".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"输入有误：{msg}", f"Invalid input: {msg}", code="invalid_input") from exc


@dept_app.command("add")
@handle_errors
def dept_add(name: str = typer.Argument(..., help="部门名称"),
             uscc: str = typer.Option(..., "--uscc", help="统一社会信用代码"),
             region: str = typer.Option("510000", "--region", help="行政区划代码"),
             parent: int | None = typer.Option(None, "--parent", help="上级部门 id")) -> None:
    """新增部门 / add a department."""
    rt = runtime()
    with rt.transaction() as s:
        d = service.create_department(session=s, actor=cli_actor(), data=_validate(
            DepartmentCreate, name=name, uscc=uscc, region_code=region, parent_id=parent))  # type: ignore[arg-type]
    console.print(f"[green]已新增部门[/] #{d.id} {d.name}")


@dept_app.command("list")
@handle_errors
def dept_list() -> None:
    """列出部门 / list departments."""
    rt = runtime()
    with rt.transaction() as s:
        rows = service.list_departments(session=s, actor=cli_actor())
    table = Table("id", "名称", "统一社会信用代码", "区划")
    for d in rows:
        table.add_row(str(d.id), d.name, d.uscc, d.region_code)
    console.print(table)


@user_app.command("add")
@handle_errors
def user_add(username: str = typer.Argument(...),
             password: str = typer.Option(..., "--password", prompt=True, hide_input=True, help="密码"),
             display_name: str | None = typer.Option(None, "--name", help="姓名"),
             department: str | None = typer.Option(None, "--dept", help="部门名称、信用代码或 id"),
             role: list[Role] = typer.Option([Role.DEPT_USER], "--role", help="角色，可重复")) -> None:
    """新增用户 / add a user."""
    rt = runtime()
    with rt.transaction() as s:
        dept_id = service.find_department(s, department).id if department else None
        u = service.create_user(session=s, actor=cli_actor(), data=_validate(
            UserCreate, username=username, display_name=display_name or username, password=password,
            department_id=dept_id, roles=role), settings=rt.settings)  # type: ignore[arg-type]
    console.print(f"[green]已新增用户[/] {u.username} ({', '.join(u.roles)})")


@token_app.command("create")
@handle_errors
def token_create(username: str = typer.Argument(..., help="用户名"),
                 name: str = typer.Option("cli", help="令牌名称"),
                 days: int = typer.Option(90, help="有效天数")) -> None:
    """为用户创建 API 令牌，令牌打印到标准输出（只显示一次）/ print a new token on stdout."""
    rt = runtime()
    with rt.transaction() as s:
        tok = service.create_token(session=s, actor=cli_actor(), data=TokenCreate(name=name, expires_in_days=days),
                                   username=username)
    typer.echo(tok.token)
