"""The runbooks' diagnostics are real: every SQL block runs on the migrated schema, every
`patronage` command parses, and every API path they name is a route of the app."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar

from patronage.cli import build_parser
from tests.conftest import ROOT

RUNBOOKS = sorted((ROOT / "docs" / "runbooks").glob("*.md"))
REQUIRED = {"webhook-failures.md", "notification-backlog.md", "dispute-sla-breach.md", "upload-backlog.md"}


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), flags=re.DOTALL)


def test_the_runbooks_exist() -> None:
    assert {p.name for p in RUNBOOKS} >= REQUIRED


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda p: p.name)
async def test_every_sql_block_runs(runbook: Path, sql: asyncpg.Connection) -> None:
    queries = blocks(runbook, "sql")
    assert queries, f"{runbook.name} has no diagnostic queries"
    for query in queries:
        transaction = sql.transaction()
        await transaction.start()
        try:
            await sql.execute(query)  # a typo or a renamed column fails here
        finally:
            await transaction.rollback()  # remediation statements must not change the test database


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda p: p.name)
def test_every_command_and_route_exists(runbook: Path, app: Litestar) -> None:
    parser = build_parser()
    text = "\n".join(blocks(runbook, "sh"))
    for line in text.splitlines():
        if "uv run patronage" in line:
            argv = shlex.split(line.split("uv run patronage", 1)[1].split(")")[0].split("#")[0])
            parser.parse_args(argv)  # exits (fails the test) on an unknown command or flag
    paths = {route.path for route in app.routes}
    for path in re.findall(r"https?://[^/\s]+(/v1/[^\s\"'?]*)", text):
        template = re.sub(r"/[0-9a-f-]{36}|/\{[^}]+\}|/\$[A-Z_]+", "/{id}", path)
        known = {re.sub(r"\{[^}]+\}", "{id}", p) for p in paths}
        assert template in known, f"{runbook.name} names {path}, which is not a route"
