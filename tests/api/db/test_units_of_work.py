"""A unit of work's `after_commit` actions follow its commit, and never a rollback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import hot
from api.db.engine import Database, after_commit, raise_after_commit
from api.db.models import EventLanding

LAND = hot.Sql("insert into event_landing (source, raw) values ('server', :raw)")
READ = hot.Sql("select count(*) as n from event_landing where raw = :raw")


async def test_actions_run_after_the_commit_in_order(db: Database, sql: asyncpg.Connection) -> None:
    seen: list[tuple[str, int]] = []

    def recorder(name: str) -> Callable[[], Awaitable[None]]:
        async def action() -> None:  # what another connection sees when the action runs
            seen.append((name, await sql.fetchval("select count(*) from event_landing where raw = 'x'")))

        return action

    async with db.transaction() as session:
        await hot.execute(session, LAND, {"raw": "x"})
        after_commit(session, recorder("first"))
        after_commit(session, recorder("second"))
        assert seen == []
    assert seen == [("first", 1), ("second", 1)]


async def test_actions_of_a_rolled_back_unit_never_run(db: Database, sql: asyncpg.Connection) -> None:
    ran = []

    async def action() -> None:
        ran.append(True)

    async def fail_after_registering() -> None:
        async with db.transaction() as session:
            await hot.execute(session, LAND, {"raw": "y"})
            after_commit(session, action)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError, match="roll back"):
        await fail_after_registering()
    assert ran == []
    assert await sql.fetchval("select count(*) from event_landing") == 0


async def test_an_error_raised_after_commit_keeps_what_was_written(db: Database, sql: asyncpg.Connection) -> None:
    async def refuse_after_writing() -> None:
        async with db.transaction() as session:
            await hot.execute(session, LAND, {"raw": "kept"})
            raise_after_commit(session, LookupError("refused"))

    with pytest.raises(LookupError, match="refused"):
        await refuse_after_writing()
    assert await sql.fetchval("select count(*) from event_landing where raw = 'kept'") == 1


async def test_a_committed_read_answers_without_beginning_the_unit_of_work(db: Database) -> None:
    async with db.transaction() as session:
        row = await hot.fetchrow_committed(session, READ, {"raw": "none"})
        assert row == {"n": 0}
        assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # the unit holds no connection: no BEGIN


async def test_a_finished_unit_leaves_nothing_for_the_next(db: Database) -> None:
    """Sessions are reused after a clean end: the next unit starts with no objects, no info and no transaction."""
    async with db.transaction() as session:
        session.add(EventLanding(source="server", raw="first"))
        session.info["mark"] = True
    async with db.transaction() as session:
        await hot.execute(session, LAND, {"raw": "second"})
        first = session
    async with db.transaction() as session:
        assert session is first  # reused
        assert not session.in_transaction()
        assert not session.identity_map
        assert not session.info
        assert len((await session.execute(text("select raw from event_landing"))).all()) == 2


async def test_a_failed_unit_gives_its_session_up(db: Database) -> None:
    used: list[AsyncSession] = []

    async def fail() -> None:
        async with db.transaction() as session:
            used.append(session)
            await hot.execute(session, LAND, {"raw": "lost"})
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await fail()
    async with db.transaction() as session:
        assert session is not used[0]
