"""Portal fixtures."""

from support.portal import CODES, PortalWorld, portal_world, published

__all__ = ["CODES", "PortalWorld", "portal_world", "published"]
