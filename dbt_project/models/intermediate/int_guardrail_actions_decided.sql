-- One row per guardrail level change (rule v1): each project's days are walked in order by a recursive
-- CTE, since hysteresis makes every day's level depend on the previous day's level and recovery window.
{% set recovery_days = var('guardrail_recovery_days') %}
{% set days_per_month = 30 %}

with recursive windows as (
    select * from {{ ref('int_guardrail_windows_computed') }}
),

ordered_days as (
    select
        project_id,
        evaluated_on,
        viewers,
        conversion_rate,
        row_number() over (partition by project_id order by evaluated_on) as day_number
    from windows
),

-- Day 0 is each project's start (uncapped, no recovery window); day n applies the rule to day n - 1's state.
walk (project_id, day_number, evaluated_on, previous_level, level, recovery_window_ends) as (
    select
        project_id,
        cast(0 as bigint),
        cast(null as date),
        cast(0 as integer),
        cast(0 as integer),
        cast(null as date)
    from ordered_days
    where day_number = 1

    union all

    select
        today.project_id,
        today.day_number,
        today.evaluated_on,
        walk.level,
        {{ guardrail_next_level('walk.level', 'walk.recovery_window_ends', 'today.evaluated_on', 'today.viewers', 'today.conversion_rate') }},
        case
            when {{ guardrail_next_level('walk.level', 'walk.recovery_window_ends', 'today.evaluated_on', 'today.viewers', 'today.conversion_rate') }} <> walk.level
                then cast({{ dbt.dateadd('day', recovery_days, 'today.evaluated_on') }} as date)
            else walk.recovery_window_ends
        end
    from walk
    join ordered_days as today
        on today.project_id = walk.project_id
        and today.day_number = walk.day_number + 1
),

changes as (
    select project_id, evaluated_on, previous_level, level, recovery_window_ends
    from walk
    where day_number > 0 and level <> previous_level
),

final as (
    select
        changes.project_id,
        changes.evaluated_on as decided_on,
        {{ guardrail_level_attribute('changes.level', 'action') }} as action,
        cast({{ dbt.dateadd('day', 1, 'changes.evaluated_on') }} as date) as effective_from,
        changes.recovery_window_ends,
        windows.viewers,
        windows.supporters,
        windows.conversion_rate,
        windows.delivered_gb,
        -- The window's delivery scaled to a month, times the bitrate fraction the new top rendition saves.
        windows.delivered_gb * {{ days_per_month }} / cast({{ var('guardrail_window_days') }} as {{ double_type() }})
            * (1 - cast({{ guardrail_level_attribute('changes.level', 'nominal_kbps') }} as {{ double_type() }})
                / {{ guardrail_level_attribute('changes.previous_level', 'nominal_kbps') }})
            as est_monthly_savings_gb,
        cast('v1' as varchar(8)) as rule_version
    from changes
    join windows
        on windows.project_id = changes.project_id
        and windows.evaluated_on = changes.evaluated_on
)

select * from final
