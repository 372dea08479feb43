"""The portal's hooks into lower layers: a built-in plugin (:data:`shudata.core.plugins.BUILTINS`).

- every ingest: a published dataset's new version goes through the open-data gate.
- the masking-policy editor asks which publications use a policy: the gate runs that masked with it
  (each publication records the policy's name).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from shudata.core.plugins import hookimpl
from shudata.jobs.ingest import IngestRun
from shudata.portal.service import publications, republish_new_version


@hookimpl(specname="after_ingest")
def regate_new_version(run: IngestRun) -> None:
    """A dataset on the open portal: its new version goes through the open-data gate too."""
    if run.version is not None:
        republish_new_version(run.session, run.settings, run.actor, run.resource, run.version)


@hookimpl(specname="privacy_policy_users")
def publications_using_policy(session: Session, resource: Any, policy: str) -> Sequence[dict[str, Any]]:
    """The gate runs of ``resource`` that masked with ``policy`` (published, refused, withdrawn), newest first."""
    return [{"kind": "publication", "id": p.id, "label": f"v{p.version}", "state": p.status, "when": p.created_at,
             "until": p.withdrawn_at, "href": f"/portal/datasets/{resource.code.replace('/', '-')}"}
            for p in publications(session, resource.id) if p.policy == policy]
