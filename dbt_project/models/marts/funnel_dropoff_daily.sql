-- One row per (event_date, platform, from_step_index 1-4): who entered a step and did not reach the next.
with funnel as (
    select * from {{ ref('funnel_daily') }}
),

final as (
    select
        current_step.event_date,
        current_step.platform,
        current_step.step_index as from_step_index,
        current_step.step_name as from_step_name,
        next_step.step_name as to_step_name,
        current_step.users as entered,
        next_step.users as converted,
        current_step.users - next_step.users as dropped,
        {{ ratio('current_step.users - next_step.users', 'current_step.users') }} as dropoff_rate
    from funnel as current_step
    join funnel as next_step
        on next_step.event_date = current_step.event_date
        and next_step.platform = current_step.platform
        and next_step.step_index = current_step.step_index + 1
)

select * from final
