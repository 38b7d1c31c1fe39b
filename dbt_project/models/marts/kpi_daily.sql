-- One row per calendar day from the first to the last day with any accepted event (empty days
-- included: zeros, and nulls for undefined ratios).
with days as (
    select calendar_day from {{ ref('int_calendar_days_spanned') }}
),

events as (
    select actor_id, event_name, event_date from {{ ref('int_events_stitched') }}
    where event_name in ('project_view', 'payment_succeeded')
),

first_support as (
    select actor_id, min(event_date) as first_support_date
    from events
    where event_name = 'payment_succeeded'
    group by actor_id
),

per_day as (
    select
        events.event_date,
        count(distinct case when events.event_name = 'project_view' then events.actor_id end) as viewers,
        count(distinct case when events.event_name = 'payment_succeeded' then events.actor_id end) as supporters,
        count(case when events.event_name = 'payment_succeeded' then 1 end) as supports,  -- count: bigint on both engines
        count(distinct case
            when events.event_name = 'payment_succeeded' and first_support.first_support_date < events.event_date
            then events.actor_id
        end) as repeat_supporters
    from events
    left join first_support on first_support.actor_id = events.actor_id
    group by events.event_date
),

final as (
    select
        days.calendar_day as kpi_date,
        coalesce(per_day.viewers, 0) as viewers,
        coalesce(per_day.supporters, 0) as supporters,
        coalesce(per_day.supports, 0) as supports,
        {{ ratio('coalesce(per_day.supporters, 0)', 'coalesce(per_day.viewers, 0)') }} as support_conversion_rate,
        coalesce(per_day.repeat_supporters, 0) as repeat_supporters,
        {{ ratio('coalesce(per_day.repeat_supporters, 0)', 'coalesce(per_day.supporters, 0)') }} as repeat_support_rate
    from days
    left join per_day on per_day.event_date = days.calendar_day
)

select * from final
