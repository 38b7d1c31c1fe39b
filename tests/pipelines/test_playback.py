"""The guardrail's caps reach the API: the feed's playback.max_rendition follows playback_caps."""

from __future__ import annotations

import uuid
from datetime import date

from litestar import Litestar
from litestar.testing import AsyncTestClient

from pipelines.playback import write_playback_caps
from tests.api.projects.test_projects import create_project
from tests.conftest import MakeUser
from tests.pipelines.conftest import LocalLocations


async def test_caps_are_written_for_known_projects_and_shown_in_the_feed(
    client: AsyncTestClient[Litestar], make_user: MakeUser, where: LocalLocations
) -> None:
    capped = await create_project(client, make_user("creator"))
    free = await create_project(client, make_user("creator"))
    rows = [
        (capped["project_id"], "cap_540p", "540p", date(2026, 11, 20)),
        (free["project_id"], "uncapped", "1080p", date(2026, 11, 1)),
        (str(uuid.uuid4()), "cap_360p", "360p", date(2026, 11, 2)),  # a project only the events know
        ("not-a-uuid", "cap_360p", "360p", date(2026, 11, 2)),
    ]
    assert write_playback_caps(where.oltp_dsn, rows) == (2, 2)
    assert write_playback_caps(where.oltp_dsn, rows) == (0, 2)  # unchanged caps are not rewritten

    feed = (await client.get("/v1/feed", headers=make_user().headers)).json()["items"]
    assert {item["project_id"]: item["playback"]["max_rendition"] for item in feed} == {
        capped["project_id"]: "540p",
        free["project_id"]: "1080p",
    }
    lifted = [(capped["project_id"], "uncapped", "1080p", date(2026, 11, 27))]
    assert write_playback_caps(where.oltp_dsn, lifted) == (1, 0)
    read = (await client.get(f"/v1/projects/{capped['project_id']}", headers=make_user().headers)).json()
    assert read["playback"] == {"max_rendition": "1080p"}
