-- One row per (event_date, platform, step_index): distinct actors with an entry that day on that
-- platform who reached the step. Every (day, platform) with an entry has all five steps.
with entries as (
    select * from {{ ref('int_funnel_entries_evaluated') }}
),

{{ funnel_steps_counted(['entry_date', 'platform']) }},

final as (
    select * from steps
)

select * from final
