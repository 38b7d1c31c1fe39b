-- One row per anonymous_id that some accepted event also tied to a user_id: that user (the earliest
-- such event wins, by occurred_at then event_id).
with events as (
    select * from {{ ref('stg_events') }}
),

linked as (
    select
        anonymous_id,
        user_id,
        row_number() over (partition by anonymous_id order by occurred_at, event_id) as link_rank
    from events
    where anonymous_id is not null and user_id is not null
),

final as (
    select anonymous_id, user_id
    from linked
    where link_rank = 1
)

select * from final
