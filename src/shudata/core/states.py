"""Workflow state machines: states and events as ``StrEnum`` s, transitions as one explicit table.

A workflow (a sharing request, an open-data application, a public data request …) declares its
states and events as ``StrEnum`` s, so the type checker sees every state a service assigns and every
event it fires, and one :class:`Machine` holding the table ``(state, event) → next state``. Every
pair not in the table is refused with :class:`~shudata.core.errors.Conflict` (409, code
``invalid_transition``). The stored strings are the enums' values, so no column changes.

>>> from enum import StrEnum
>>> class Door(StrEnum):
...     OPEN = "open"
...     SHUT = "shut"
>>> class Push(StrEnum):
...     CLOSE = "close"
>>> m = Machine("门", "door", {(Door.OPEN, Push.CLOSE): Door.SHUT})
>>> m.next("open", Push.CLOSE)
<Door.SHUT: 'shut'>
>>> m.can("shut", Push.CLOSE)
False
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from shudata.core.errors import Conflict

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class Machine(Generic[S, E]):
    """The transitions of one workflow. ``refusal`` gives the (zh, en) message for a refused
    ``(state, event)``; by default it names the workflow, the state and the event."""

    what_zh: str
    what_en: str
    table: Mapping[tuple[S, E], S]
    refusal: Callable[[str, E], tuple[str, str]] | None = None

    def can(self, status: str, event: E) -> bool:
        return (status, event) in self.table

    def next(self, status: str, event: E) -> S:
        """The state after ``event`` in ``status``; ``Conflict`` (``invalid_transition``) otherwise."""
        try:
            return self.table[(status, event)]  # type: ignore[index]  # a stored str equals its StrEnum
        except KeyError:
            zh, en = (self.refusal(status, event) if self.refusal else
                      (f"{self.what_zh}当前状态为“{status}”，不能执行“{event}”",
                       f"The {self.what_en} is {status}; {event} is not possible"))
            raise Conflict(zh, en, code="invalid_transition") from None
