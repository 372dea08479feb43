"""The plugin manager: pluggy hook specifications, the built-in plugins, the manager factory.

Packages contribute behaviour to packages *below* them through hooks, never through
registries filled as import side effects: the sharing package restricts what a query
sees, the portal re-gates a published dataset's new version, the quality package scores
catalog entries and brings its rule and cleaning-step types, the catalog reindexes a
renamed department's entries. Each contribution is a ``@hookimpl`` function in a plugin
module; :data:`BUILTINS` lists those modules in one place, and
:func:`make_plugin_manager` registers them all (as datasette loads ``DEFAULT_PLUGINS``),
so no entry point can lose one because a module was not imported.

The manager belongs to the runtime (``Runtime.plugins``) and reaches the code below it
with the sessions the runtime makes (:func:`plugins_of`); code that has neither (parsing a
rule set in a doctest) gets :func:`default_plugins`, the built-ins, built on first use.

>>> pm = make_plugin_manager()
>>> [name for name, _ in pm.list_name_plugin()] == list(BUILTINS)
True
>>> len(pm.hook.quality_rule_types()) > 0
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shudata.core.config import Settings
    from shudata.core.types import Actor

# The specs name the types of higher layers in their docstrings only (this is L0).

PROJECT = "shudata"
ENTRY_POINT_GROUP = "shudata"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# The built-in plugins, registered by every manager (module names: imported when a manager
# is built, not when this module is).
BUILTINS: tuple[str, ...] = (
    "shudata.sharing.providers",  # query_table_access: cross-department masking; query_granted_table(s): grants
    "shudata.portal.hooks",  # after_ingest: a published dataset's new version is re-gated
    "shudata.sharing.hooks",  # after_ingest: the masked files of the entry's grants are prepared
    "shudata.quality.providers",  # catalog_quality_scores, quality_rule_types, quality_cleaning_step_types
    "shudata.catalog.hooks",  # department_renamed: the catalog search index keeps provider names current
    "shudata.market.delivery.hooks",  # market_order_delivering: a purchase opens the buyer's entitlement
    "shudata.market.ledger.hooks",  # market_event: every market event is appended to the signed ledger
    "shudata.market.rights.hooks",  # market_event: a purchase of 数据加工使用权 issues the buyer a licence
    "shudata.analysis.hooks",  # after_ingest: long form of a layout resource, recompute its indicators, alerts
    "shudata.sharing.scorecard",  # scorecard_measures: sharing responsiveness (working days, overdue)
    "shudata.portal.scorecard",  # scorecard_measures: openness (open datasets, downloads, API calls)
    "shudata.market.derivatives",  # after_ingest: a source's new version makes its desensitized derivatives stale
    "shudata.market.delivery.prepare",  # sharing_recipients_for_resource, sharing_ended_deliveries: entitlements
)

T = TypeVar("T")


class HookSpecs:
    """Every hook of shudata. Arguments are passed by keyword; implementations may take a subset."""

    @hookspec
    def query_table_access(self, session: Session, settings: Settings, actor: Actor, resource: Any) -> Any:
        """The restrictions (a ``query.access.TableAccess``) on what ``actor`` sees of ``resource``
        (a ``catalog.models.CatalogResource``) inside any query, or ``None``.

        Every implementation is asked; their restrictions are combined
        (:meth:`~shudata.query.access.TableAccess.restrict`), so no entry point can skip one.
        They restrict readers of the raw version; a table read through ``query_granted_table``
        is the delivered view instead, and is not given to them.
        """

    @hookspec(firstresult=True)
    def query_granted_table(self, session: Session, settings: Settings, actor: Actor, resource: Any,
                            version: int | None) -> Any:
        """The delivered view (a ``query.policies.GrantedTable``) through which ``actor``, who may
        not read the raw data of ``resource`` (a ``catalog.models.CatalogResource``), reads it in
        a query (``version``: the number asked for, ``None`` for the newest) — or ``None``: nobody
        vouches, and the query is refused as before. An implementation may refuse itself
        (``PermissionDenied``: a revoked or expired grant; ``LimitExceeded``: its quota is used
        up). The first answer counts."""

    @hookspec
    def query_granted_tables(self, session: Session, settings: Settings, actor: Actor) -> Sequence[Any]:
        """The resources ``actor`` may query through ``query_granted_table``, as
        ``query.policies.GrantedSchema`` values (the workbench's schema browser and completion);
        every implementation is asked and the lists are joined."""
        return ()  # a specification: never called

    @hookspec(firstresult=True)
    def catalog_quality_scores(self, session: Session, ids: Sequence[int]) -> Mapping[int, float] | None:
        """Overall quality scores (0–100) of the catalog entries ``ids``; the first answer counts
        (the last registered plugin is asked first). Nobody answers: no entry has a score."""

    @hookspec
    def after_ingest(self, run: Any) -> None:
        """Run after the built-in steps of every ingest (``run``: a ``jobs.ingest.IngestRun``), in
        the ingest's transaction (an error refuses the ingest). ``run.version`` is the new version."""

    @hookspec
    def department_renamed(self, session: Session, department_id: int) -> None:
        """A department was renamed, in the renaming transaction: keep what is derived from its name current."""

    @hookspec
    def privacy_policy_users(self, session: Session, resource: Any, profile: str, policy: str
                             ) -> Sequence[Mapping[str, Any]]:
        """What uses the masking policy named ``policy``: the one delivery looks up for ``resource``
        (a ``catalog.models.CatalogResource``) under ``profile``. Each implementation lists its
        users as plain dicts (``kind``, ``id``, ``label``, ``state``, ``href``, ``when``); every
        implementation is asked and the lists are joined (``privacy.editor.policy_usage``)."""
        return ()  # a specification: never called

    @hookspec
    def market_event(self, session: Session, event: Any) -> None:
        """A market event happened (a ``market.events.MarketEvent``: a participant decision, a listing
        decision, an order transition, a contract signature, an escrow move …), in its transaction
        (an error refuses it). Every implementation is called: the market ledger appends it."""

    @hookspec
    def market_order_delivering(self, session: Session, settings: Settings, order: Any) -> None:
        """An order (a ``market.models.MarketOrder``) entered ``delivering`` (escrow funded), in that
        transaction: the delivery package opens what the buyer bought (entitlement, file, hosted
        jobs). Every implementation is called; an error refuses the transition."""

    @hookspec
    def sharing_recipients_for_resource(self, session: Session, settings: Settings, resource_id: int
                                        ) -> Sequence[Any]:
        """The live Delta Sharing recipients other than grants (``sharing.delta_sharing.server.Recipient``
        values, e.g. a market buyer's entitlement) with a table on the entry ``resource_id``: the sharing
        package prepares their files in the background when it gets a new version. Every
        implementation is asked and the lists are joined."""
        return ()  # a specification: never called

    @hookspec
    def sharing_ended_deliveries(self, session: Session, settings: Settings) -> Sequence[tuple[Any, Any]]:
        """Folders of prepared delivery files whose owner no longer delivers (an entitlement revoked,
        expired, its order ended), as ``(root, folder)`` paths, each folder directly in its root under
        the data folder: ``sharing.cleanup`` deletes them. Every implementation is asked."""
        return ()  # a specification: never called

    @hookspec
    def quality_rule_types(self) -> Sequence[type]:
        """Quality rule spec classes (``quality.rule_base.RuleBase`` subclasses, keyed by their
        ``rule_type``); gathered once per manager by ``quality.rule_base.rule_types``."""
        return ()  # a specification: never called

    @hookspec
    def quality_cleaning_step_types(self) -> Sequence[type]:
        """Cleaning step spec classes (``quality.cleaning_steps.StepBase`` subclasses, keyed by their
        ``step_name``); gathered once per manager by ``quality.cleaning_steps.step_types``."""
        return ()  # a specification: never called


    @hookspec
    def scorecard_measures(self, session: Session, settings: Settings, start: Any, end: Any
                           ) -> Mapping[str, Mapping[int, Any]]:
        """Figures of the assessment scorecard (评估考核, ``analysis.scorecard``) per provider department
        for the period ``[start, end)`` (aware datetimes): ``{measure: {department id: value}}``, a
        value being a number (summed over a city's departments) or a list (joined, e.g. the working
        days each sharing request took). ``shudata.sharing.scorecard`` answers the responsiveness,
        ``shudata.portal.scorecard`` the openness."""
        return {}  # a specification: never called

class PluginManager(pluggy.PluginManager):
    """pluggy's manager with shudata's hooks, and a cache of what is gathered from them (rule
    types: parsed often, collected once); registering or unregistering a plugin clears it."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(HookSpecs)
        self._gathered: dict[str, Any] = {}

    def register(self, plugin: object, name: str | None = None) -> str | None:
        self._gathered.clear()
        return super().register(plugin, name)

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any | None:
        self._gathered.clear()
        return super().unregister(plugin, name)

    def gathered(self, key: str, build: Callable[[PluginManager], T]) -> T:
        """``build(self)``, computed once until the plugins change."""
        if key not in self._gathered:
            self._gathered[key] = build(self)
        value: T = self._gathered[key]
        return value

    def types_by_name(self, hook: str, attr: str) -> dict[str, type]:
        """The classes the list-returning ``hook`` gives, by their ``attr`` (a rule type's
        ``rule_type``, a step's ``step_name``), built-ins first, gathered once until the plugins
        change; a class without a name, or a name given twice, is an error."""
        def build(pm: PluginManager) -> dict[str, type]:
            out: dict[str, type] = {}
            for types in reversed(getattr(pm.hook, hook)()):  # in registration order: built-ins first
                for cls in types:
                    name = getattr(cls, attr)
                    if not name or name in out:
                        raise ValueError(f"{attr} {name!r} missing or registered twice")
                    out[name] = cls
            return out

        return self.gathered(hook, build)


def make_plugin_manager(*, builtins: Sequence[str] = BUILTINS, plugins: Sequence[object] = (),
                        load_entrypoints: bool = False) -> PluginManager:
    """A manager with the built-in plugins, then ``plugins``, then (when ``load_entrypoints``)
    the installed distributions' ``shudata`` entry points."""
    pm = PluginManager()
    for name in builtins:
        pm.register(importlib.import_module(name), name=name)
    for plugin in plugins:
        pm.register(plugin)
    if load_entrypoints:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


_default: list[PluginManager] = []


def default_plugins() -> PluginManager:
    """The built-ins, for code called without a runtime (built on first use, then kept)."""
    if not _default:
        _default.append(make_plugin_manager())
    return _default[0]


def plugins_of(session: Session | None) -> PluginManager:
    """The manager of the runtime that made ``session`` (:func:`default_plugins` for a session
    made elsewhere: never fewer than the built-ins)."""
    pm = session.info.get("plugins") if session is not None else None
    return pm if isinstance(pm, PluginManager) else default_plugins()
