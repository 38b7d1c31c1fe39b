-- One row per (project_id, evaluated_on): the guardrail's trailing window [E - 6, E] for every day E from
-- the project's first project_view day to the last day with any accepted event (empty days included).
{% set window_days = var('guardrail_window_days') %}

with events as (
    select project_id, event_name, event_date, actor_id, bytes_delivered
    from {{ ref('int_events_stitched') }}
    where project_id is not null
      and event_name in ('project_view', 'payment_succeeded', 'video_play')
),

bounds as (
    select max(event_date) as last_day
    from {{ ref('int_events_stitched') }}
),

first_views as (
    select project_id, min(event_date) as first_view_day
    from events
    where event_name = 'project_view'
    group by project_id
),

days as (
    {{ calendar_days('(select min(first_view_day) from first_views)', '(select last_day from bounds)') }}
),

evaluation_days as (
    select
        first_views.project_id,
        days.calendar_day as evaluated_on,
        cast({{ dbt.dateadd('day', 1 - window_days, 'days.calendar_day') }} as date) as window_starts_on
    from first_views
    join days on days.calendar_day >= first_views.first_view_day
),

-- One row per actor and day they viewed or supported the project: distinct counts over a window need actors.
actor_days as (
    select distinct project_id, event_date, event_name, actor_id
    from events
    where event_name in ('project_view', 'payment_succeeded')
),

delivery_days as (
    select project_id, event_date, sum(bytes_delivered) as bytes_delivered
    from events
    where event_name = 'video_play'
    group by project_id, event_date
),

audiences as (
    select
        evaluation_days.project_id,
        evaluation_days.evaluated_on,
        count(distinct case when actor_days.event_name = 'project_view' then actor_days.actor_id end) as viewers,
        count(distinct case when actor_days.event_name = 'payment_succeeded' then actor_days.actor_id end) as supporters
    from evaluation_days
    left join actor_days
        on actor_days.project_id = evaluation_days.project_id
        and actor_days.event_date >= evaluation_days.window_starts_on
        and actor_days.event_date <= evaluation_days.evaluated_on
    group by evaluation_days.project_id, evaluation_days.evaluated_on
),

deliveries as (
    select
        evaluation_days.project_id,
        evaluation_days.evaluated_on,
        cast(coalesce(sum(delivery_days.bytes_delivered), 0) as {{ double_type() }}) / cast(1e9 as {{ double_type() }})
            as delivered_gb
    from evaluation_days
    left join delivery_days
        on delivery_days.project_id = evaluation_days.project_id
        and delivery_days.event_date >= evaluation_days.window_starts_on
        and delivery_days.event_date <= evaluation_days.evaluated_on
    group by evaluation_days.project_id, evaluation_days.evaluated_on
),

final as (
    select
        evaluation_days.project_id,
        evaluation_days.evaluated_on,
        evaluation_days.window_starts_on,
        audiences.viewers,
        audiences.supporters,
        {{ ratio('audiences.supporters', 'audiences.viewers') }} as conversion_rate,
        deliveries.delivered_gb
    from evaluation_days
    join audiences
        on audiences.project_id = evaluation_days.project_id
        and audiences.evaluated_on = evaluation_days.evaluated_on
    join deliveries
        on deliveries.project_id = evaluation_days.project_id
        and deliveries.evaluated_on = evaluation_days.evaluated_on
)

select * from final
