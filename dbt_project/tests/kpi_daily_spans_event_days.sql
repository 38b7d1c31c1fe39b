-- kpi_daily starts on the first and ends on the last day with any accepted event (analytics.md):
-- returns a row when either end differs (or when one side is empty and the other is not).
with kpi_bounds as (
    select min(kpi_date) as first_day, max(kpi_date) as last_day, count(*) as days from {{ ref('kpi_daily') }}
),

event_bounds as (
    select min(event_date) as first_day, max(event_date) as last_day, count(*) as events from {{ ref('stg_events') }}
)

select kpi_bounds.*, event_bounds.*
from kpi_bounds
cross join event_bounds
where (kpi_bounds.days = 0) <> (event_bounds.events = 0)
   or kpi_bounds.first_day <> event_bounds.first_day
   or kpi_bounds.last_day <> event_bounds.last_day
