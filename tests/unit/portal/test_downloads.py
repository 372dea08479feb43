"""Prepared download files: superseded ones are removed, current and recent ones kept."""

from __future__ import annotations

import os
import time

from shudata.portal import downloads


def test_tidy_removes_old_files_only(tmp_path):
    old = time.time() - downloads.TIDY_AFTER_S - 60
    for name in ("cur.csv", "cur.csv.json", "stale.csv", "stale.csv.json", "fresh.json", "x.csv.123-4.tmp"):
        (tmp_path / name).write_text("x")
    for name in ("cur.csv", "cur.csv.json", "stale.csv", "stale.csv.json", "x.csv.123-4.tmp"):
        os.utime(tmp_path / name, (old, old))
    assert downloads.tidy(tmp_path, current={"cur"}) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cur.csv", "cur.csv.json", "fresh.json"]
    assert downloads.tidy(tmp_path / "missing") == 0


def test_etags_differ_by_publication_digest_and_format():
    tags = {downloads.etag_of(p, d, f) for p in (1, 2) for d in ("aa", "bb") for f in downloads.FORMATS}
    assert len(tags) == 2 * 2 * len(downloads.FORMATS)
