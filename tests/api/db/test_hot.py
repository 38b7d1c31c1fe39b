"""Hot statements run on the driver inside the session's transaction, and see its pending ORM changes."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

from api.db import hot
from api.db.engine import Database
from api.db.models import EventLanding

LAND = hot.Sql("insert into event_landing (source, raw) values (:source, :raw)")
COUNT = hot.Sql("select count(*) as n from event_landing where raw = :raw")


def test_named_parameters_become_positional_and_casts_stay() -> None:
    sql = hot.Sql("select :a, :b_2, :a, x::int, cast(:c as text)::jsonb")
    assert sql.positional == "select $1, $2, $1, x::int, cast($3 as text)::jsonb"
    assert sql.args({"c": 3, "a": 1, "b_2": 2}) == [1, 2, 3]


async def test_a_first_hot_statement_is_inside_the_transaction(db: Database, sql: asyncpg.Connection) -> None:
    """SQLAlchemy begins lazily: were the first statement sent to the driver as is, it would commit on its own."""

    async def land_twice_then_fail() -> None:
        async with db.transaction() as session:
            await hot.execute(session, LAND, {"source": "server", "raw": "first"})
            await hot.execute(session, LAND, {"source": "server", "raw": "second"})
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError, match="roll back"):
        await land_twice_then_fail()
    assert await sql.fetchval("select count(*) from event_landing") == 0


async def test_a_hot_statement_sees_pending_orm_changes(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(text("select 1"))  # the transaction has begun: the driver path is taken
        session.add(EventLanding(source="server", raw="pending"))
        row = await hot.fetchrow(session, COUNT, {"raw": "pending"})
        assert row is not None
        assert row["n"] == 1
