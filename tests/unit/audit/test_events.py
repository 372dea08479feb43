"""Audit events are typed: one dataclass per kind with a unique documented name (after Datasette's
``events.py``), and every place in src/shudata that records one builds such a class, never a free-form
``AuditEvent("…")``. ``docs/audit-events.md`` lists them (generated; ``tests/unit/test_docs.py``)."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from shudata.audit import events
from shudata.audit.events import EVENTS, AuditEvent, Event, Refused, SharingDataDeliver

SRC = Path(__file__).resolve().parents[3] / "src" / "shudata"
NAME = re.compile(r"^[a-z]+(\.[a-z_]+)+$")
RECORDERS = {"record", "record_separately", "append"}


def _kinds() -> list[type[Event]]:
    return [obj for obj in vars(events).values()
            if isinstance(obj, type) and issubclass(obj, Event) and "name" in vars(obj)]


def test_every_event_class_is_registered_once_by_name() -> None:
    kinds = _kinds()
    assert len({k.name for k in kinds}) == len(kinds), "two event classes share a name"
    assert sorted(EVENTS) == sorted(k.name for k in kinds)
    assert len(EVENTS) > 60


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_event_is_documented_frozen_and_well_named(name: str) -> None:
    kind = EVENTS[name]
    assert (kind.__doc__ or "").strip(), f"{kind.__name__} has no docstring (it is the documentation)"
    assert kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert kind is Refused or NAME.match(name), name


def test_an_event_is_stored_in_the_shape_entries_always_had() -> None:
    e = SharingDataDeliver(resource_id="101001/000123", details={"rows": 3})
    assert e.stored() == AuditEvent("sharing.data.deliver", "success", "catalog.resource", "101001/000123",
                                    {"rows": 3})
    r = Refused(action="catalog.resource.edit", outcome="denied", target_type="catalog.resource", resource_id="x")
    assert r.stored() == AuditEvent("catalog.resource.edit", "denied", "catalog.resource", "x", {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.resource_id = "y"  # type: ignore[misc]


def _sources() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(SRC)), ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(SRC.rglob("*.py"))]


def test_no_module_builds_an_untyped_audit_event() -> None:
    """``AuditEvent`` is the ledger's stored shape: only ``shudata.audit`` names it."""
    found = [f"{path}:{n.lineno}" for path, tree in _sources() if not path.startswith("audit/")
             for n in ast.walk(tree)
             if (isinstance(n, ast.Name) and n.id == "AuditEvent")
             or (isinstance(n, ast.alias) and n.name == "AuditEvent")
             or (isinstance(n, ast.Attribute) and n.attr == "AuditEvent")]
    assert found == [], "record a typed event from shudata.audit.events instead"


def test_every_record_call_passes_a_typed_event() -> None:
    """The event argument of every ``record``/``record_separately`` call in src is a call of an event
    class (``events.X(…)``, ``Refused(…)``) or of a parameter/variable holding one (``kind(…)``)."""
    bad = []
    for path, tree in _sources():
        if path.startswith("audit/"):
            continue
        for n in ast.walk(tree):
            func = n.func if isinstance(n, ast.Call) else None
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name not in RECORDERS or not isinstance(n, ast.Call) or len(n.args) < 3:
                continue
            event = n.args[2]
            if isinstance(event, ast.Name):  # a variable: it must have been built from an event class
                continue
            callee = event.func if isinstance(event, ast.Call) else None
            cname = (callee.id if isinstance(callee, ast.Name)
                     else callee.attr if isinstance(callee, ast.Attribute) else None)
            if cname is None or cname == "AuditEvent":
                bad.append(f"{path}:{n.lineno}")
            elif cname[0].isupper() and cname not in {k.__name__ for k in _kinds()}:
                bad.append(f"{path}:{n.lineno} {cname}")
    assert bad == []
