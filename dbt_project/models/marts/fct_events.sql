-- One row per accepted, deduplicated event with its actor: int_events_stitched, published as a mart.
with events as (
    select * from {{ ref('int_events_stitched') }}
),

final as (
    select * from events
)

select * from final
