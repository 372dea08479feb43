"""The ``shudata`` command. One sub-app per capability; commands call the same services as the API."""

from __future__ import annotations

import typer

from shudata.cli import (
    admin,
    analysis,
    audit_cmd,
    catalog_cmd,
    core_cmds,
    demo_cmd,
    ingest_cmd,
    market_cmd,
    node_cmd,
    portal_action_cmd,
    portal_cmd,
    privacy_cmd,
    quality_cmd,
    query_cmd,
    sharing_cmd,
)

app = typer.Typer(name="shudata", help="蜀数 shudata：四川省大数据平台命令行 / Sichuan big-data platform CLI",
                  no_args_is_help=True, rich_markup_mode="rich")

core_cmds.register(app)
query_cmd.register(app)
ingest_cmd.register(app)
quality_cmd.register(app)
demo_cmd.register(app)
privacy_cmd.register(app)
app.add_typer(admin.dept_app, name="dept")
app.add_typer(admin.user_app, name="user")
app.add_typer(admin.token_app, name="token")
app.add_typer(audit_cmd.audit_app, name="audit")
app.add_typer(catalog_cmd.catalog_app, name="catalog")
app.add_typer(node_cmd.node_app, name="node")
app.add_typer(sharing_cmd.sharing_app, name="sharing")
portal_action_cmd.register(portal_cmd.portal_app)
app.add_typer(portal_cmd.portal_app, name="portal")
app.add_typer(market_cmd.market_app, name="market")
analysis.register(app)
