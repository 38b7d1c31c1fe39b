-- One row per (event_date, platform, from_step_index 1-4): who entered a step and did not reach the next.
-- The steps are counted as funnel_daily counts them (the same macro over the same entries).
with entries as (
    select * from {{ ref('int_funnel_entries_evaluated') }}
),

{{ funnel_steps_counted(['entry_date', 'platform']) }},

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
    from steps as current_step
    join steps as next_step
        on next_step.event_date = current_step.event_date
        and next_step.platform = current_step.platform
        and next_step.step_index = current_step.step_index + 1
)

select * from final
