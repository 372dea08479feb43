"""How the loader reports progress without knowing about Rich (the CLI draws the bar)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives one ``start`` with the number of steps, then one ``step`` per step."""

    def start(self, total: int) -> None: ...

    def step(self, label: str) -> None: ...


class Silent:
    """A progress sink that shows nothing (tests, library use)."""

    def start(self, total: int) -> None:
        return None

    def step(self, label: str) -> None:
        return None
