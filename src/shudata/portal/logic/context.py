"""Who calls an action and from where: CKAN's ``context``, typed.

The web layer builds one from the request (its address, its ``X-CKAN-API-Key`` /
``Authorization`` header, its base URL and path); the CLI builds one from its options. The
actions never see a request.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from shudata.core.config import Settings
from shudata.core.types import Actor
from shudata.portal.developers import KeyHolder, count_key_use, key_holder
from shudata.portal.downloads import SETTINGS_KEY
from shudata.portal.service import PublicDataset, count_use

ACTION_PATH = "/api/3/action"


@dataclass(frozen=True)
class Context:
    """One action call's store, settings and caller.

    ``actor`` is who acts (the audit trail's principal); ``key`` the developer key behind the
    call, if any (it alone opens 有条件开放 rows, through
    :func:`shudata.portal.developers.require_data_access`); ``base_url`` prefixes the absolute
    links of packages and resources; ``path`` is the action's own URL path (the datastore's
    ``_links``).
    """

    session: Session
    settings: Settings
    actor: Actor
    key: KeyHolder | None = None
    base_url: str = ""
    path: str = ""

    @classmethod
    def build(cls, *, session: Session, settings: Settings, name: str, raw_key: str | None = None,
              ip: str | None = None, base_url: str = "", path: str | None = None) -> Context:
        """The context of a call to action ``name``: as the holder of ``raw_key`` (a wrong or
        revoked key is refused, 403), else as the anonymous public at ``ip``.
        ``SHUDATA_PORTAL_BASE_URL``, when set, wins over ``base_url``."""
        key = key_holder(session, raw_key)
        actor = key.actor if key is not None else Actor.anonymous(ip)
        session.info[SETTINGS_KEY] = settings  # CKAN resources state their prepared downloads' size and hash
        return cls(session=session, settings=settings, actor=actor, key=key,
                   base_url=(settings.portal_base_url or base_url).rstrip("/"),
                   path=path if path is not None else f"{ACTION_PATH}/{name}")

    def used(self, ds: PublicDataset) -> None:
        """Count one API use of ``ds`` (and of the key behind the call)."""
        count_use(self.session, ds, "api")
        count_key_use(self.session, self.key, ds)
