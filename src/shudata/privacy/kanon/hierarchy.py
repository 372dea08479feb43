"""Generalisation hierarchies: loaded from ARX's CSV format or built.

ARX format: one row per leaf value, column *i* is the value at level *i*, ``;``
separated, no header, the last column usually ``*``. Builders make intervals for
numbers, masking for codes, date levels and region-code levels.

>>> h = Hierarchy.build_intervals("age", [23, 37, 41], widths=(10, 20))
>>> h.levels
(('23', '37', '41'), ('20-29', '30-39', '40-49'), ('20-39', '20-39', '40-59'), ('*', '*', '*'))
>>> h.generalise("37", 2)
'20-39'
>>> Hierarchy.build_masking("zip", ["610041", "610072"]).levels[2]
('6100**', '6100**')
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from shudata.core.errors import InvalidInput

TOP = "*"


@dataclass(frozen=True)
class Hierarchy:
    """``levels[0]`` are the leaves; ``levels[i][j]`` is leaf j generalised to level i."""

    attribute: str
    levels: tuple[tuple[str, ...], ...]

    @property
    def height(self) -> int:
        return len(self.levels)

    @property
    def leaves(self) -> tuple[str, ...]:
        return self.levels[0]

    def mapping(self, level: int) -> dict[str, str]:
        """Leaf → value at ``level``."""
        return dict(zip(self.levels[0], self.levels[level], strict=True))

    def generalise(self, value: str, level: int) -> str:
        return self.mapping(level)[value]

    def uncovered(self, values: Iterable[str]) -> list[str]:
        """Values that are not leaves of the hierarchy (sorted, for messages)."""
        leaves = set(self.leaves)
        return sorted({v for v in values if v not in leaves})

    def require_covers(self, values: Iterable[str]) -> None:
        missing = self.uncovered(values)
        if missing:
            shown = "、".join(missing[:5])
            raise InvalidInput(
                f"属性“{self.attribute}”的泛化层次未覆盖这些值：{shown}{' 等' if len(missing) > 5 else ''}"
                "；请在层次文件中补充",
                f"The hierarchy of {self.attribute!r} does not cover {len(missing)} value(s), e.g. "
                f"{', '.join(missing[:5])}; add them to the hierarchy file", code="hierarchy_not_covering",
                details={"attribute": self.attribute, "missing": missing[:20]})

    # -- loading ------------------------------------------------------------------------

    @classmethod
    def from_rows(cls, attribute: str, rows: Sequence[Sequence[str]]) -> Hierarchy:
        rows = [r for r in rows if r and any(c.strip() for c in r)]
        if not rows:
            raise InvalidInput(f"属性“{attribute}”的泛化层次为空", f"The hierarchy of {attribute!r} is empty",
                               code="bad_hierarchy")
        width = len(rows[0])
        bad = [i + 1 for i, r in enumerate(rows) if len(r) != width]
        if bad:
            raise InvalidInput(f"泛化层次“{attribute}”第 {bad[0]} 行的层级数与第 1 行不同（应为 {width} 列）",
                               f"Hierarchy {attribute!r}: row {bad[0]} has a different number of levels "
                               f"(expected {width})", code="bad_hierarchy")
        leaves = [r[0] for r in rows]
        if len(set(leaves)) != len(leaves):
            dup = next(v for v in leaves if leaves.count(v) > 1)
            raise InvalidInput(f"泛化层次“{attribute}”中叶子值“{dup}”重复", f"Hierarchy {attribute!r} repeats "
                               f"the leaf {dup!r}", code="bad_hierarchy")
        return cls(attribute, tuple(tuple(r[i] for r in rows) for i in range(width)))

    @classmethod
    def from_csv_bytes(cls, attribute: str, data: bytes, sep: str = ";") -> Hierarchy:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"泛化层次文件“{attribute}”不是 UTF-8 编码（第 {exc.start} 字节）；请另存为 UTF-8",
                               f"Hierarchy file for {attribute!r} is not UTF-8 (byte {exc.start}); save it as UTF-8",
                               code="hierarchy_not_utf8") from None
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
        return cls.from_rows(attribute, [[c.strip() for c in r] for r in rows])

    @classmethod
    def from_csv(cls, attribute: str, path: Path, sep: str = ";") -> Hierarchy:
        try:
            data = Path(path).read_bytes()
        except OSError:
            raise InvalidInput(f"无法读取泛化层次文件：{path}", f"Cannot read hierarchy file {path}",
                               code="bad_hierarchy") from None
        return cls.from_csv_bytes(attribute, data, sep)

    # -- builders -----------------------------------------------------------------------

    @classmethod
    def build_intervals(cls, attribute: str, values: Iterable[float | int | str],
                        widths: Sequence[int] = (5, 10, 20)) -> Hierarchy:
        """Numbers → bands of each width (``lo-hi`` inclusive), then ``*``."""
        leaves = sorted({str(v) for v in values}, key=float)
        levels = [tuple(leaves)]
        for w in widths:
            levels.append(tuple(_band(float(v), w) for v in leaves))
        levels.append(tuple(TOP for _ in leaves))
        return cls(attribute, tuple(levels))

    @classmethod
    def build_masking(cls, attribute: str, values: Iterable[str], char: str = "*") -> Hierarchy:
        """Codes → one more trailing character masked per level, up to all."""
        leaves = sorted(set(values))
        length = max((len(v) for v in leaves), default=0)
        levels = [tuple(v[: len(v) - k] + char * min(k, len(v)) for v in leaves) for k in range(length + 1)]
        return cls(attribute, tuple(levels))

    @classmethod
    def build_dates(cls, attribute: str, values: Iterable[str]) -> Hierarchy:
        """ISO dates → month → year → decade → ``*``."""
        leaves = sorted(set(values))
        return cls(attribute, (tuple(leaves), tuple(v[:7] for v in leaves), tuple(v[:4] for v in leaves),
                               tuple(v[:3] + "0s" for v in leaves), tuple(TOP for _ in leaves)))

    @classmethod
    def build_regions(cls, attribute: str, values: Iterable[str]) -> Hierarchy:
        """6-digit region codes → city → province → ``*``."""
        leaves = sorted(set(values))
        return cls(attribute, (tuple(leaves), tuple(v[:4] + "00" for v in leaves),
                               tuple(v[:2] + "0000" for v in leaves), tuple(TOP for _ in leaves)))


def _band(v: float, w: int) -> str:
    lo = int(v // w) * w
    return f"{lo}-{lo + w - 1}"
