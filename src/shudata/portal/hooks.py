"""The portal's hooks into lower layers: a built-in plugin (:data:`shudata.core.plugins.BUILTINS`).

- every ingest: a published dataset's new version goes through the open-data gate.
"""

from __future__ import annotations

from shudata.core.plugins import hookimpl
from shudata.jobs.ingest import IngestRun
from shudata.portal.service import republish_new_version


@hookimpl(specname="after_ingest")
def regate_new_version(run: IngestRun) -> None:
    """A dataset on the open portal: its new version goes through the open-data gate too."""
    if run.version is not None:
        republish_new_version(run.session, run.settings, run.actor, run.resource, run.version)
