"""The journal's entry-type → reporting-category mapping (reconciliation checks in the API) and the dbt seed the
reconciliation marts join on are one mapping: this test is what makes them the same."""

from __future__ import annotations

import csv

from api.journal.repositories import _CATEGORY_BY_ENTRY_TYPE
from pipelines.project import DBT_PROJECT_DIR

SEED = DBT_PROJECT_DIR / "seeds" / "journal_entry_categories.csv"


def test_the_dbt_seed_is_the_journal_s_mapping() -> None:
    with SEED.open(newline="") as seed:
        rows = [(row["entry_type"], row["category"]) for row in csv.DictReader(seed)]
    assert len({entry_type for entry_type, _ in rows}) == len(rows)  # one category per entry type
    assert dict(rows) == _CATEGORY_BY_ENTRY_TYPE
