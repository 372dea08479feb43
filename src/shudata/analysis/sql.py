"""The same indicator formulas as SQL over a long-form table, for the SQL sandbox.

An indicator defined over catalog resources runs as a sandboxed query: these functions write the
SELECT over a long-form table (``layouts.LONG_SCHEMA`` columns) named ``table``; the sandbox checks
it, applies the caller's table access and the engine runs it. Results equal the Arrow functions of
``analysis.formulas`` (the tests compare them on generated data).

>>> "INTERVAL 12 MONTH" in growth_sql("t", months=12, suffix="同比增长")
True
"""

from __future__ import annotations

_COLS = "indicator, unit, region, region_code, site, frequency, period, period_start, value, source_row, source_column"
_SAME_SERIES = ("p.indicator = c.indicator AND p.region_code IS NOT DISTINCT FROM c.region_code "
                "AND p.site IS NOT DISTINCT FROM c.site")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def growth_sql(table: str, *, months: int, suffix: str) -> str:
    """Growth in % against the value ``months`` months earlier (同比: 12, 环比 of a monthly series: 1)."""
    return (
        f"SELECT c.indicator || {_lit(suffix)} AS indicator, '%' AS unit, c.region, c.region_code, c.site, "
        "c.frequency, c.period, c.period_start, "
        "CASE WHEN c.value IS NULL OR p.value IS NULL OR p.value = 0 "
        "OR NOT isfinite((c.value / p.value - 1) * 100) THEN NULL "  # an overflow is no growth rate (as in Arrow)
        "ELSE (c.value / p.value - 1) * 100 END AS value, c.source_row, c.source_column "
        f"FROM {_ident(table)} AS c JOIN {_ident(table)} AS p ON {_SAME_SERIES} "
        f"AND p.period_start = c.period_start - INTERVAL {int(months)} MONTH"
    )


def share_sql(table: str, *, suffix: str = "占各地区合计比重") -> str:
    """A region's share (%) of the sum over regions of the same indicator, site and period."""
    return (
        f"SELECT indicator || {_lit(suffix)} AS indicator, '%' AS unit, region, region_code, site, frequency, "
        "period, period_start, CASE WHEN value IS NULL OR total IS NULL OR total = 0 "
        "OR NOT isfinite(value / total * 100) THEN NULL "
        "ELSE value / total * 100 END AS value, source_row, source_column "
        f"FROM (SELECT {_COLS}, SUM(value) OVER (PARTITION BY indicator, site, period_start) AS total "
        f"FROM {_ident(table)}) AS s"
    )


def rank_sql(table: str, *, ascending: bool = False, suffix: str = "位次") -> str:
    """Rank among regions per indicator, site and period (ties share the smaller rank; NULL unranked)."""
    order = "ASC" if ascending else "DESC"
    return (
        f"SELECT indicator || {_lit(suffix)} AS indicator, '位' AS unit, region, region_code, site, frequency, "
        "period, period_start, CASE WHEN value IS NULL THEN NULL ELSE CAST(RANK() OVER (PARTITION BY indicator, "
        f"site, period_start, value IS NULL ORDER BY value {order}) AS DOUBLE) END AS value, "
        f"source_row, source_column FROM {_ident(table)}"
    )
