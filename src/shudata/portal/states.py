"""The portal's workflows: open-data applications and public data requests (states, events and
their transition tables; see :mod:`shudata.core.states`). The stored strings are the values.

>>> APPLICATIONS.next("approved", ApplicationEvent.REFUSE)
<ApplicationStatus.REVOKED: 'revoked'>
>>> DATA_REQUESTS.can("answered", DataRequestEvent.ANSWER)
False
"""

from __future__ import annotations

from enum import StrEnum

from shudata.core.states import Machine


class ApplicationStatus(StrEnum):
    """A developer's application for a conditionally open dataset (``portal_application.status``)."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    REVOKED = "revoked"


class ApplicationEvent(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"  # refusing an approved application revokes it


def _application_refusal(status: str, event: ApplicationEvent) -> tuple[str, str]:
    if event is ApplicationEvent.APPROVE:
        return f"该申请当前状态为 {status}，不能批准", f"Application is {status}; cannot approve"
    return f"该申请当前状态为 {status}", f"Application is {status}"


APPLICATIONS: Machine[ApplicationStatus, ApplicationEvent] = Machine("开放数据申请", "application", {
    (ApplicationStatus.PENDING, ApplicationEvent.APPROVE): ApplicationStatus.APPROVED,
    (ApplicationStatus.PENDING, ApplicationEvent.REFUSE): ApplicationStatus.REFUSED,
    (ApplicationStatus.APPROVED, ApplicationEvent.REFUSE): ApplicationStatus.REVOKED,
}, _application_refusal)


class DataRequestStatus(StrEnum):
    """A public data request (``portal_data_request.status``)."""

    OPEN = "open"
    ANSWERED = "answered"


class DataRequestEvent(StrEnum):
    ANSWER = "answer"


def _request_refusal(status: str, event: DataRequestEvent) -> tuple[str, str]:
    return "该需求已答复", "This request has already been answered"


DATA_REQUESTS: Machine[DataRequestStatus, DataRequestEvent] = Machine("数据需求", "data request", {
    (DataRequestStatus.OPEN, DataRequestEvent.ANSWER): DataRequestStatus.ANSWERED,
}, _request_refusal)


class PublicationStatus(StrEnum):
    """One published version of an entry (``portal_publication.status``): published, or refused by
    the publication gate; a newer publication supersedes it, a withdrawal ends it."""

    PUBLISHED = "published"
    REFUSED = "refused"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class PublicationEvent(StrEnum):
    SUPERSEDE = "supersede"
    WITHDRAW = "withdraw"


PUBLICATIONS: Machine[PublicationStatus, PublicationEvent] = Machine("发布记录", "publication", {
    (PublicationStatus.PUBLISHED, PublicationEvent.SUPERSEDE): PublicationStatus.SUPERSEDED,
    (PublicationStatus.PUBLISHED, PublicationEvent.WITHDRAW): PublicationStatus.WITHDRAWN,
})


class DatasetStatus(StrEnum):
    """An open dataset on the portal (``portal_dataset.status``): shown while a version is published."""

    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class HarvestJobStatus(StrEnum):
    """One run of a harvest source (``portal_harvest_job.status``)."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class HarvestJobEvent(StrEnum):
    FINISH = "finish"  # the run ended: every package gathered, fetched and imported or refused
    FAIL = "fail"  # the run raised
    CLOSE_STALE = "close_stale"  # a later run found it running with an old heartbeat or no process


HARVEST_JOBS: Machine[HarvestJobStatus, HarvestJobEvent] = Machine("采集任务", "harvest job", {
    (HarvestJobStatus.RUNNING, HarvestJobEvent.FINISH): HarvestJobStatus.FINISHED,
    (HarvestJobStatus.RUNNING, HarvestJobEvent.FAIL): HarvestJobStatus.FAILED,
    (HarvestJobStatus.RUNNING, HarvestJobEvent.CLOSE_STALE): HarvestJobStatus.FAILED,
    # Closed as stale while its process was in fact only paused (a heartbeat older than the limit):
    # the run still ends, and its own outcome is the truth.
    (HarvestJobStatus.FAILED, HarvestJobEvent.FINISH): HarvestJobStatus.FINISHED,
    (HarvestJobStatus.FAILED, HarvestJobEvent.FAIL): HarvestJobStatus.FAILED,
})


class HarvestObjectStatus(StrEnum):
    """What became of one remote package in the newest run (``portal_harvest_object.status``): a
    result, set anew by each run, not a workflow."""

    IMPORTED = "imported"
    REFUSED = "refused"
    FAILED = "failed"
    DELETED = "deleted"
