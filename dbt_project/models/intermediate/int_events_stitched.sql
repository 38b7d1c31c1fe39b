-- One row per accepted, deduplicated event, with the actor it counts for (analytics.md "Actors and
-- stitching"): the user, else the user its anonymous_id was stitched to, else 'anon:' || anonymous_id.
with events as (
    select * from {{ ref('stg_events') }}
),

stitched as (
    select * from {{ ref('int_anonymous_ids_stitched') }}
),

final as (
    select
        events.*,
        coalesce(events.user_id, stitched.user_id, 'anon:' || events.anonymous_id) as actor_id
    from events
    left join stitched on stitched.anonymous_id = events.anonymous_id
)

select * from final
