"""Files for the market upload and derivative tests: the demo's generated citizens as CSV."""

from __future__ import annotations

import csv
from pathlib import Path

PEOPLE_COLUMNS = ["公民身份号码", "姓名", "性别", "出生日期", "行政区划代码", "联系电话"]


def people_csv(path: Path, rows: int = 60, *, encoding: str = "gbk", seed: int = 7,
               columns: list[str] | None = None) -> Path:
    """Citizens with ID numbers, names and mobiles (personal information), written as CSV."""
    from shudata.demo.generators.persons import generate_persons

    t = generate_persons(rows, seed=seed)
    cols = columns or PEOPLE_COLUMNS
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in t.select(cols).to_pylist():
            w.writerow([r[c] for c in cols])
    return path
