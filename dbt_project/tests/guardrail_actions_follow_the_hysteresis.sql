-- Consecutive actions of a project change the level, a lower level never comes before the previous
-- action's recovery window ends, and the dates follow decided_on.
with actions as (
    select
        *,
        {{ guardrail_level_of('action', 'action') }} as level
    from {{ ref('bitrate_guardrail_actions') }}
),

sequenced as (
    select
        *,
        lag(level) over (partition by project_id order by decided_on) as previous_level,
        lag(recovery_window_ends) over (partition by project_id order by decided_on) as previous_recovery_window_ends
    from actions
),

final as (
    select *
    from sequenced
    where level = coalesce(previous_level, 0)
       or (level < previous_level and decided_on < previous_recovery_window_ends)
       or effective_from <> cast({{ dbt.dateadd('day', 1, 'decided_on') }} as date)
       or recovery_window_ends <> cast({{ dbt.dateadd('day', var('guardrail_recovery_days'), 'decided_on') }} as date)
)

select * from final
