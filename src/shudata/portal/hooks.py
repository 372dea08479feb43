"""The portal's hooks into lower layers, installed by the entry points (web app, CLI).

- every ingest: a published dataset's new version goes through the open-data gate.
"""

from __future__ import annotations

from shudata.jobs.ingest import IngestRun, register_step
from shudata.portal.service import republish_new_version


def regate_new_version(run: IngestRun) -> None:
    """A dataset on the open portal: its new version goes through the open-data gate too."""
    if run.version is not None:
        republish_new_version(run.session, run.settings, run.actor, run.resource, run.version)


def install() -> None:
    register_step("portal.regate", regate_new_version)
