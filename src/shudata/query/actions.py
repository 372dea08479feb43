"""Actions of the query package. Reading each table's data is checked separately with
``lake.version.read`` (``shudata.catalog.access.require_read_data``)."""

from __future__ import annotations

from shudata.security.authz import Action

QUERY_RUN = Action("query.run", "运行 SQL 查询", "run SQL queries", scope="authenticated")
# The workbench's own things belong to their owner: no role opens another's, the admin included.
QUERY_SAVED_MANAGE = Action("query.saved.manage", "保存、修改和删除自己的查询",
                            "save, change and delete one's own queries", scope="resource", admin=False)
QUERY_HISTORY_VIEW = Action("query.history.view", "查看自己的查询历史", "read one's own query history",
                            scope="resource", admin=False)
QUERY_RUN_CANCEL = Action("query.run.cancel", "取消自己正在运行的查询", "cancel one's own running query",
                          scope="resource", admin=False)

# The registry's input (gathered by ``shudata.permissions``): every action above, once.
ACTIONS = (QUERY_RUN, QUERY_SAVED_MANAGE, QUERY_HISTORY_VIEW, QUERY_RUN_CANCEL)
