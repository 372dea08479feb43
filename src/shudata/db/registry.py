"""Import every ``shudata.<package>.models`` module so ``Base.metadata`` knows all tables.

Used by Alembic's env.py (autogenerate) and by the migration-drift test. The list is
explicit: a new package with tables adds its module here.
"""

from __future__ import annotations

import importlib

MODEL_MODULES: tuple[str, ...] = (
    "shudata.audit.models",
    "shudata.security.models",
    "shudata.catalog.models",
    "shudata.lake.models",
    "shudata.quality.models",
    "shudata.privacy.models",
    "shudata.sharing.models",
    "shudata.sharing.nodes.models",
    "shudata.portal.models",
    "shudata.query.models",
    "shudata.market.models",
    "shudata.market.delivery.models",
    "shudata.market.ledger.models",
    "shudata.market.rights.models",
    "shudata.market.valuation.models",
    "shudata.analysis.models",
    "shudata.analysis.dashboards_models",
)


def load_all_models() -> None:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a package not written yet
            if exc.name is None or not name.startswith(exc.name):
                raise
