"""Quality scores per GB/T 36344-2018 dimension and overall, 0–100.

A dimension's score is the mean pass rate of its rules (rows passing / rows checked, in
percent; a dataset-level rule counts 100 or 0); the overall score is the mean of the
dimensions that have rules, so one dimension with many rules does not drown the others.
Skipped rules (no previous version, no update cycle) do not count.

>>> from shudata.quality.schemas import RuleResult
>>> def rr(dim, total, failed):
...     return RuleResult(key=dim + str(failed), type="x", dimension=dim, severity="warn", threshold=0,
...                       sentence_zh="", sentence_en="", total=total, failed=failed, percent=0,
...                       passed=failed == 0, status="pass")
>>> dimension_scores([rr("completeness", 100, 10), rr("completeness", 100, 0), rr("validity", 10, 5)])
{'completeness': 95.0, 'validity': 50.0, 'overall': 72.5}
>>> dimension_scores([])
{}
"""

from __future__ import annotations

from collections.abc import Sequence

from shudata.quality.schemas import RuleResult

DIMENSIONS = ("completeness", "validity", "consistency", "uniqueness", "timeliness", "accuracy")


def pass_rate(r: RuleResult) -> float:
    return 100.0 * (1 - r.failed / r.total) if r.total else 100.0


def dimension_scores(results: Sequence[RuleResult]) -> dict[str, float]:
    """``{dimension: score, …, "overall": score}`` (empty when nothing was checked)."""
    by_dim: dict[str, list[float]] = {}
    for r in results:
        if r.status != "skipped":
            by_dim.setdefault(r.dimension, []).append(pass_rate(r))
    scores = {d: round(sum(v) / len(v), 2) for d in DIMENSIONS if (v := by_dim.get(d))}
    if scores:
        scores["overall"] = round(sum(scores.values()) / len(scores), 2)
    return scores
