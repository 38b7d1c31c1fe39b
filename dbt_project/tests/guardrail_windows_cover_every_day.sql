-- Every project is evaluated on each day from its first project_view day to the last day with any event.
with windows as (
    select * from {{ ref('int_guardrail_windows_computed') }}
),

events as (
    select * from {{ ref('stg_events') }}
),

first_views as (
    select project_id, min(event_date) as first_view_day
    from events
    where event_name = 'project_view' and project_id is not null
    group by project_id
),

spans as (
    select project_id, min(evaluated_on) as first_day, max(evaluated_on) as last_day, count(*) as days
    from windows
    group by project_id
),

final as (
    select spans.*, first_views.first_view_day
    from spans
    full outer join first_views on first_views.project_id = spans.project_id
    where spans.project_id is null
       or first_views.project_id is null
       or spans.first_day <> first_views.first_view_day
       or spans.last_day <> (select max(event_date) from events)
       or spans.days <> {{ dbt.datediff('spans.first_day', 'spans.last_day', 'day') }} + 1
)

select * from final
