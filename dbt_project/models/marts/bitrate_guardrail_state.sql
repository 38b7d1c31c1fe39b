-- One row per evaluated project: its current guardrail level, i.e. the level of its last action
-- (uncapped since the first evaluated day when it never changed).
with windows as (
    select * from {{ ref('int_guardrail_windows_computed') }}
),

actions as (
    select * from {{ ref('int_guardrail_actions_decided') }}
),

projects as (
    select project_id, min(evaluated_on) as first_evaluated_on
    from windows
    group by project_id
),

ranked_actions as (
    select
        project_id,
        {{ guardrail_level_of('action', 'action') }} as level,
        effective_from,
        recovery_window_ends,
        row_number() over (partition by project_id order by decided_on desc) as recency
    from actions
),

last_actions as (
    select * from ranked_actions where recency = 1
),

final as (
    select
        projects.project_id,
        {{ guardrail_level_attribute('coalesce(last_actions.level, 0)', 'name') }} as level,
        {{ guardrail_level_attribute('coalesce(last_actions.level, 0)', 'max_rendition') }} as max_rendition,
        coalesce(last_actions.effective_from, projects.first_evaluated_on) as since,
        last_actions.recovery_window_ends
    from projects
    left join last_actions on last_actions.project_id = projects.project_id
)

select * from final
