"""The portal's action layer (CKAN keeps the same in ``ckan/logic/action``).

Every use case of the public portal is a plain function here, called alike by the CKAN
Action API and the portal pages (:mod:`shudata.web`), the CLI (``shudata portal action``) and
tests; each checks access itself and raises :mod:`shudata.core.errors`. ``web/`` only parses
requests, calls these and maps errors to HTTP.

- :mod:`~shudata.portal.logic.params`, :mod:`~shudata.portal.logic.context`: an action's
  parameters (CKAN's conversions) and caller;
- :mod:`~shudata.portal.logic.site`, :mod:`~shudata.portal.logic.packages`,
  :mod:`~shudata.portal.logic.organizations`, :mod:`~shudata.portal.logic.datastore`: the
  CKAN-compatible actions, one module per action group;
- :mod:`~shudata.portal.logic.registry`: the actions by name (``ACTIONS``, ``call_action``);
- :mod:`~shudata.portal.logic.pages`: the queries of the portal's HTML pages (home, stats,
  downloads of older versions) and of the steward's page.
"""
