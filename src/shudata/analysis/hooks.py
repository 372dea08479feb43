"""The analysis package's hook into ingestion: a built-in plugin (:data:`shudata.core.plugins.BUILTINS`).

Every ingest, in its transaction: a resource that declares a layout gets the long form of its new
version (a file the layout cannot read refuses the ingest, with the cell); then the indicators reading
the resource, and their dependants, are recomputed and the alert rules run on the new periods (an
indicator that fails keeps its values and shows the error: the ingest stands).
"""

from __future__ import annotations

from typing import Any

from shudata.analysis import recompute, store
from shudata.core.plugins import hookimpl
from shudata.core.types import Actor


@hookimpl(specname="after_ingest")
def reshape_and_recompute(run: Any) -> None:
    """``run`` is a ``jobs.ingest.IngestRun`` (jobs sits above analysis: only its fields are read)."""
    if run.version is None:
        return
    session, settings = run.session, run.settings
    if store.layout_of(session, run.resource.id) is not None:  # read the file only for a layout resource
        store.reshape_version(session, settings, run.resource.id, run.version.version, run.path.read_bytes(),
                              run.source_name)
    g = recompute.graph(session)
    if any(run.resource.id in r for r in g.reads.values()):
        recompute.recompute(session, settings, Actor.system(), resource_id=run.resource.id,
                            version=run.version.version, trigger="version", g=g)
