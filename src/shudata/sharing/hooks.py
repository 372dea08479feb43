"""The sharing package's hooks into lower layers: a built-in plugin (:data:`shudata.core.plugins.BUILTINS`).

- every ingest: once the new version commits, the masked files of the entry's grants are
  built in the background (:func:`shudata.sharing.prepare.after_version`).
- the masking-policy editor asks which grants use a policy: the grants of the policy's resource
  under its profile (delivery looks the policy up by that name, :func:`shudata.sharing.masking.policy_name`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shudata.core.plugins import hookimpl
from shudata.security.models import Department
from shudata.sharing.grants import grant_state
from shudata.sharing.masking import policy_name
from shudata.sharing.models import SharingGrant
from shudata.sharing.prepare import after_version


@hookimpl(specname="after_ingest")
def prepare_deliveries(run: Any) -> None:
    """``run`` is a ``jobs.ingest.IngestRun`` (jobs and sharing are L5 siblings: only its fields are read)."""
    after_version(run.session, run.settings, run.resource.id)


@hookimpl(specname="privacy_policy_users")
def grants_using_policy(session: Session, resource: Any, profile: str, policy: str) -> Sequence[dict[str, Any]]:
    """The grants on ``resource`` whose masking profile is ``profile``, when ``policy`` is the name
    their deliveries look up (revoked and expired ones too, with their state), newest first."""
    if policy != policy_name(resource, profile):
        return []
    rows = session.execute(select(SharingGrant, Department.name)
                           .join(Department, Department.id == SharingGrant.consumer_department_id)
                           .where(SharingGrant.resource_id == resource.id, SharingGrant.masking_profile == profile)
                           .order_by(SharingGrant.id.desc()))
    return [{"kind": "grant", "id": g.id, "label": dept, "state": grant_state(g), "when": g.created_at,
             "until": g.expires_at, "href": "/exchange?box=incoming&status=approved"} for g, dept in rows]
