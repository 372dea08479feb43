"""Actions of the query package. Reading each table's data is checked separately with
``lake.version.read`` (``shudata.catalog.access.require_read_data``)."""

from __future__ import annotations

from shudata.security.authz import Action

QUERY_RUN = Action("query.run", "运行 SQL 查询", "run SQL queries", scope="authenticated")

# The registry's input (gathered by ``shudata.permissions``): every action above, once.
ACTIONS = (QUERY_RUN,)
