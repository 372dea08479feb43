"""What this package contributes to others through hooks: a built-in plugin
(:data:`shudata.core.plugins.BUILTINS`) — the catalog search's quality scores, and the
quality rule and cleaning-step types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from shudata.core.plugins import hookimpl
from shudata.quality.cleaning_steps import BUILTIN_STEPS, StepBase
from shudata.quality.rule_base import RuleBase
from shudata.quality.rules import BUILTIN_RULES
from shudata.quality.service import latest_scores


@hookimpl
def catalog_quality_scores(session: Session, ids: Sequence[int]) -> Mapping[int, float]:
    return latest_scores(session, ids)


@hookimpl
def quality_rule_types() -> Sequence[type[RuleBase]]:
    return BUILTIN_RULES


@hookimpl
def quality_cleaning_step_types() -> Sequence[type[StepBase]]:
    return BUILTIN_STEPS
