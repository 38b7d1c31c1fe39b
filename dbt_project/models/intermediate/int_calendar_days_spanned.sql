-- One row per calendar day from the first to the last day with any accepted event (UTC).
with bounds as (
    select min(event_date) as first_day, max(event_date) as last_day
    from {{ ref('stg_events') }}
),

days as (
    {{ calendar_days('(select first_day from bounds)', '(select last_day from bounds)') }}
)

select * from days
