"""The analytics build at volume: `dbt build` of every model on N synthetic events (DuckDB), against one
hand-written DuckDB query computing funnel_daily directly on the same data, in the same run.

    uv run python -m bench.analytics_bench --events 1000000 10000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.project import dbt_build
from stores import warehouse

GENERATE = """
insert into raw.events (event_id, event_name, schema_version, occurred_at, received_at, platform, user_id,
                        anonymous_id, session_id, project_id, properties, raw, raw_sha256, source, source_ref, run_id)
with draws as (
    select i,
           random() as kind, random() as t, random() as who, random() as signed_in, random() as which_project,
           random() as amount
    from range(?) as r(i)
), shaped as (
    select i,
           case when kind < 0.45 then 'feed_impression' when kind < 0.68 then 'project_view'
                when kind < 0.78 then 'support_cta_tap' when kind < 0.84 then 'checkout_started'
                when kind < 0.87 then 'payment_succeeded' else 'video_play' end as event_name,
           timestamptz '2026-10-01 00:00:00+00' + to_seconds(cast(t * 30 * 86400 as bigint)) as occurred_at,
           cast(floor(who * ?) as bigint) as actor,
           signed_in < 0.6 as signed_in,
           cast(floor(which_project * 500) as bigint) as project,
           cast(500 + amount * 20000 as bigint) as amount_minor
    from draws
)
select cast(uuid() as varchar), event_name, '1.0', occurred_at, occurred_at,
       case when event_name = 'payment_succeeded' then 'server' when actor % 3 = 0 then 'android' else 'ios' end,
       case when signed_in or event_name = 'payment_succeeded' then 'user-' || actor end,
       case when not signed_in then 'device-' || actor end,
       's-' || actor,
       md5('project-' || project)::uuid::varchar,
       case event_name
           when 'payment_succeeded' then '{"amount_minor": ' || amount_minor || ', "currency": "EUR"}'
           when 'video_play' then '{"bytes_delivered": ' || (amount_minor * 1000) || ', "rendition": "1080p"}'
           else '{}' end,
       '{}', '', 'bench', 'bench', 'bench'
from shaped
"""

# The reference: funnel_daily's rule (analytics.md) as one hand-written DuckDB query (no stitching).
FUNNEL_DIRECT = """
with e as (
    select coalesce(user_id, 'anon:' || anonymous_id) as actor, project_id, event_name, occurred_at, event_id,
           platform, cast(occurred_at as date) as d
    from raw.events where project_id is not null
), s1 as (
    select actor, project_id, d, arg_min(platform, (occurred_at, event_id)) as platform, min(occurred_at) as t1
    from e where event_name = 'feed_impression' group by all
), s2 as (select s1.*, (select min(occurred_at) from e where e.actor = s1.actor and e.project_id = s1.project_id
          and event_name = 'project_view' and occurred_at between s1.t1 and s1.t1 + interval 7 day) as t2 from s1),
s3 as (select s2.*, (select min(occurred_at) from e where e.actor = s2.actor and e.project_id = s2.project_id
          and event_name = 'support_cta_tap' and occurred_at between s2.t2 and s2.t1 + interval 7 day) as t3 from s2),
s4 as (select s3.*, (select min(occurred_at) from e where e.actor = s3.actor and e.project_id = s3.project_id
          and event_name = 'checkout_started' and occurred_at between s3.t3 and s3.t1 + interval 7 day) as t4 from s3),
s5 as (select s4.*, (select min(occurred_at) from e where e.actor = s4.actor and e.project_id = s4.project_id
          and event_name = 'payment_succeeded' and occurred_at between s4.t4 and s4.t1 + interval 7 day) as t5 from s4)
select d, platform, count(distinct actor) filter (where t1 is not null), count(distinct actor) filter (where t2 is not null),
       count(distinct actor) filter (where t3 is not null), count(distinct actor) filter (where t4 is not null),
       count(distinct actor) filter (where t5 is not null)
from s5 group by all
"""


def run(events: int, scratch: Path) -> tuple[float, float, float]:
    path = scratch / f"bench-{events}.duckdb"
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    with warehouse.connect(path) as connection:
        connection.execute(GENERATE, [events, max(events // 25, 1)])
    generated = time.perf_counter() - started

    started = time.perf_counter()
    result = dbt_build(path, scratch)
    dbt_seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(result.stdout[-3000:])

    with duckdb.connect(str(path), read_only=True) as connection:
        started = time.perf_counter()
        connection.execute(FUNNEL_DIRECT).fetchall()
        direct = time.perf_counter() - started
    path.unlink()
    return generated, dbt_seconds, direct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args()
    print("| events | generate s | dbt build (all models + tests) s | hand-written funnel query s | ratio |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for events in args.events:
            generated, dbt_seconds, direct = run(events, Path(tmp))
            print(
                f"| {events:,} | {generated:.1f} | {dbt_seconds:.1f} | {direct:.1f} | {dbt_seconds / direct:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
