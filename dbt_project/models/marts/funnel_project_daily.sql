-- One row per (event_date, project_id, step_index), all platforms together.
with entries as (
    select * from {{ ref('int_funnel_entries_evaluated') }}
),

{{ funnel_steps_counted(['entry_date', 'project_id']) }},

final as (
    select * from steps
)

select * from final
