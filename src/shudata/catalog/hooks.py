"""The catalog's hooks into lower layers: a built-in plugin (:data:`shudata.core.plugins.BUILTINS`).

- a department renamed: its entries are reindexed, since the search indexes the provider's name.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shudata.catalog.service import reindex_department_entries
from shudata.core.plugins import hookimpl


@hookimpl
def department_renamed(session: Session, department_id: int) -> None:
    reindex_department_entries(session, department_id)
