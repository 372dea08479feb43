"""The sharing package's hooks into lower layers: a built-in plugin (:data:`shudata.core.plugins.BUILTINS`).

- every ingest: once the new version commits, the masked files of the entry's grants are
  built in the background (:func:`shudata.sharing.prepare.after_version`).
"""

from __future__ import annotations

from typing import Any

from shudata.core.plugins import hookimpl
from shudata.sharing.prepare import after_version


@hookimpl(specname="after_ingest")
def prepare_deliveries(run: Any) -> None:
    """``run`` is a ``jobs.ingest.IngestRun`` (jobs and sharing are L5 siblings: only its fields are read)."""
    after_version(run.session, run.settings, run.resource.id)
