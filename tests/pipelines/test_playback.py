"""The guardrail's caps reach the API: the feed's playback.max_rendition follows playback_caps, which the reverse ETL
fills from marts.bitrate_guardrail_state on every warehouse (DuckDB, PostgreSQL, a Spark lake)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import psycopg2
import pytest
from dagster import DagsterInstance, materialize
from litestar import Litestar
from litestar.testing import AsyncTestClient

from pipelines.assets.playback import playback_caps
from pipelines.playback import write_playback_caps
from pipelines.resources import PatronageConfig, libpq_dsn
from stores.warehouse import WarehouseAt, open_warehouse
from tests.analytics.corpus import ENGINES, SPARK, corpus_on
from tests.api.projects.flows import create_project
from tests.conftest import MakeUser


async def test_caps_are_written_for_known_projects_and_shown_in_the_feed(
    client: AsyncTestClient[Litestar], make_user: MakeUser, database_url: str
) -> None:
    oltp = libpq_dsn(database_url)
    capped = await create_project(client, make_user("creator"))
    free = await create_project(client, make_user("creator"))
    rows = [
        (capped["project_id"], "cap_540p", "540p", date(2026, 11, 20)),
        (free["project_id"], "uncapped", "1080p", date(2026, 11, 1)),
        (str(uuid.uuid4()), "cap_360p", "360p", date(2026, 11, 2)),  # a project only the events know
        ("not-a-uuid", "cap_360p", "360p", date(2026, 11, 2)),
    ]
    assert write_playback_caps(oltp, rows) == (2, 2)
    assert write_playback_caps(oltp, rows) == (0, 2)  # unchanged caps are not rewritten

    feed = (await client.get("/v1/feed", headers=make_user().headers)).json()["items"]
    assert {item["project_id"]: item["playback"]["max_rendition"] for item in feed} == {
        capped["project_id"]: "540p",
        free["project_id"]: "1080p",
    }
    lifted = [(capped["project_id"], "uncapped", "1080p", date(2026, 11, 27))]
    assert write_playback_caps(oltp, lifted) == (1, 0)
    read = (await client.get(f"/v1/projects/{capped['project_id']}", headers=make_user().headers)).json()
    assert read["playback"] == {"max_rendition": "1080p"}


@pytest.fixture(scope="module", params=[*ENGINES, SPARK])
def guardrail_marts(request: pytest.FixtureRequest) -> WarehouseAt:
    """A warehouse whose guardrail marts dbt built from ingested events (tests/analytics/corpus.py), per engine."""
    return corpus_on(request, request.param)


async def test_the_reverse_etl_writes_the_state_of_every_warehouse_for_the_projects_the_api_knows(
    client: AsyncTestClient[Litestar], make_user: MakeUser, database_url: str, guardrail_marts: WarehouseAt
) -> None:
    with open_warehouse(guardrail_marts, read_only=True) as store:
        state = store.rows("select project_id, level, max_rendition, since from marts.bitrate_guardrail_state")
    capped = next(row for row in state if row[1] != "uncapped")
    uncapped = next(row for row in state if row[1] == "uncapped")
    oltp = libpq_dsn(database_url)
    with psycopg2.connect(oltp) as connection, connection.cursor() as cursor:  # the API knows these two projects
        for project_id, *_ in (capped, uncapped):
            cursor.execute(
                "insert into projects (project_id, creator_id, title, description, currency, goal_minor) "
                "values (%s, %s, 'Guardrail', '', 'EUR', 100000)",
                (project_id, str(uuid.uuid4())),
            )
    patronage = PatronageConfig(
        warehouse=str(guardrail_marts),
        landing_dir="unused-landing",
        dead_letter_dir="unused-dead-letter",
        oltp_database=database_url,
        dashboards_dir="unused-dashboards",
        provider_reports_dir="unused-reports",
    )

    result = await asyncio.to_thread(
        materialize, [playback_caps], resources={"patronage": patronage}, instance=DagsterInstance.ephemeral()
    )

    assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = {key: value.value for key, value in event.materialization.metadata.items()}
    assert metadata == {"caps_written": 2, "unknown_projects": len(state) - 2}
    with psycopg2.connect(oltp) as connection, connection.cursor() as cursor:
        cursor.execute("select project_id::text, level, max_rendition, since::date from playback_caps")
        assert sorted(cursor.fetchall()) == sorted([capped, uncapped])
    read = (await client.get(f"/v1/projects/{capped[0]}", headers=make_user().headers)).json()
    assert read["playback"] == {"max_rendition": capped[2]}
