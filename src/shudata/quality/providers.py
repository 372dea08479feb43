"""Hooks this package contributes to other packages (installed by the web app and the CLI at
start-up, never on import): the catalog search's quality scores."""

from __future__ import annotations

from shudata.catalog.search import register_score_provider
from shudata.quality.service import latest_scores


def install() -> None:
    """Register the providers for the process (idempotent: the same name replaces)."""
    register_score_provider("quality.latest_scores", latest_scores)
