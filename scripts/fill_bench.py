"""Fill the README benchmark table from JSON lines printed by bench/*.py.

    python scripts/fill_bench.py RESULTS.jsonl [--note "(quick)"]

Each line of RESULTS is one ``{"figure", "value", "target", "unit", …}`` object (extra keys
such as ``"mode"`` are kept as a note). Placeholders ``@figure@`` in README.md are replaced;
figures never measured stay marked as such.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def main() -> None:
    results = {}
    for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("{") and '"figure"' in line:
            row = json.loads(line)
            value = row["value"]
            text = "—" if value is None else (f"{value:,.0f}" if isinstance(value, (int, float)) and abs(value) >= 1000
                                              else f"{value}")
            if row.get("mode"):
                text += f" ({row['mode']})"
            results[row["figure"]] = text
    body = README.read_text(encoding="utf-8")
    body = re.sub(r"@([a-z_.0-9]+)@", lambda m: results.get(m.group(1), "未测 not measured"), body)
    README.write_text(body, encoding="utf-8")


if __name__ == "__main__":
    main()
