"""The demo's catalog entries: valid registrations whose items match their data."""

from __future__ import annotations

import pytest

from shudata.catalog.base_registries import get_template
from shudata.catalog.schemas import ResourceCreate
from shudata.demo.entries import ENTRIES, DemoEntry, FileSource, TableSource
from shudata.demo.loader import resource_create
from shudata.demo.sources import bundled
from shudata.jobs.ingest import preview_file
from shudata.lake.ingest.source import IngestOptions

BY_CODE = {e.code: e for e in ENTRIES}


def _ids(entries: list[DemoEntry]) -> list[str]:
    return [e.name for e in entries]


def test_codes_unique_and_required_entries_present() -> None:
    assert len(BY_CODE) == len(ENTRIES)
    names = {e.name for e in ENTRIES}
    assert "四川省企业信用信息" in names
    assert any(e.published_at is not None for e in ENTRIES), "an overdue entry"
    assert any(e.source is None for e in ENTRIES), "an entry without data"
    assert {e.template for e in ENTRIES} >= {"人口", "法人", "社会信用", "自然资源和地理空间"}


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(list(ENTRIES)))
def test_every_entry_is_a_valid_registration(entry: DemoEntry) -> None:
    data = resource_create(entry, provider_id=1)
    assert isinstance(data, ResourceCreate)
    assert data.code == entry.code and data.name == entry.name
    assert data.information_items and data.abstract
    if entry.template:
        template = [i.name for i in get_template(entry.template).information_items]
        assert [i.name for i in data.information_items][:len(template)] == template


TABLES = [e for e in ENTRIES if isinstance(e.source, TableSource)]
FILES = [e for e in ENTRIES if isinstance(e.source, FileSource)]


@pytest.mark.parametrize("entry", TABLES, ids=_ids(TABLES))
def test_generated_columns_are_the_information_items(entry: DemoEntry) -> None:
    assert isinstance(entry.source, TableSource)
    items = [i.name for i in resource_create(entry, provider_id=1).information_items]
    assert sorted(entry.source.make().column_names) == sorted(items)


@pytest.mark.parametrize("entry", FILES, ids=_ids(FILES))
def test_bundled_files_match_their_information_items(entry: DemoEntry) -> None:
    assert isinstance(entry.source, FileSource)
    items = resource_create(entry, provider_id=1).information_items
    preview = preview_file(bundled(entry.source.path), IngestOptions(**entry.source.options), items=list(items))
    assert preview["check"]["ok"], preview["check"]


def test_every_bundled_file_has_a_provenance_note() -> None:
    for entry in FILES:
        assert isinstance(entry.source, FileSource)
        topic = entry.source.path.split("/")[0]
        assert (bundled(topic) / "PROVENANCE.md").is_file(), topic
