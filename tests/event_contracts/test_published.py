"""Published contract files never change: SHA256SUMS pins every one of them, and every file must be pinned."""

from __future__ import annotations

import hashlib

from event_contracts import CONTRACT_DIR, CONTRACT_VERSION, PUBLISHED_FILES
from event_contracts.published import CHECKSUMS_FILE


def _pinned() -> dict[str, str]:
    pinned: dict[str, str] = {}
    for line in (CONTRACT_DIR / CHECKSUMS_FILE).read_text().splitlines():
        digest, _, relative = line.partition("  ")
        assert len(digest) == 64, f"not a sha256sum line: {line!r}"
        assert relative not in pinned, f"{relative} is pinned twice"
        pinned[relative] = digest
    return pinned


def test_every_published_file_is_unchanged_and_present() -> None:
    changed = {
        relative
        for relative, digest in _pinned().items()
        if not (CONTRACT_DIR / relative).is_file()
        or hashlib.sha256((CONTRACT_DIR / relative).read_bytes()).hexdigest() != digest
    }
    assert changed == set(), "published files never change; additions go in a new minor version (see README)"


def test_every_file_under_the_contract_is_pinned() -> None:
    on_disk = {
        path.relative_to(CONTRACT_DIR).as_posix()
        for path in CONTRACT_DIR.rglob("*")
        if path.is_file() and path.name != CHECKSUMS_FILE
    }
    assert on_disk - set(_pinned()) == set(), "a new file must be added to SHA256SUMS and PUBLISHED_FILES"


def test_the_python_list_is_the_pinned_list() -> None:
    assert list(PUBLISHED_FILES) == sorted(PUBLISHED_FILES)
    assert set(PUBLISHED_FILES) == set(_pinned())


def test_the_catalog_declares_the_contract_version() -> None:
    import json

    assert json.loads((CONTRACT_DIR / "catalog.json").read_text())["version"] == CONTRACT_VERSION
