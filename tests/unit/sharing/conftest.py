"""Sharing fixtures."""

from support.sharing import World, world

__all__ = ["World", "world"]
