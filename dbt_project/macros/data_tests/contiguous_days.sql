{# Fails on each date (other than the first) whose previous calendar day is missing: no gaps. #}
{% test contiguous_days(model, column_name) %}
with days as (
    select distinct {{ column_name }} as day from {{ model }} where {{ column_name }} is not null
)

select day
from days
where day > (select min(day) from days)
  and not exists (
    select 1 from days as previous_day
    where previous_day.day = cast({{ dbt.dateadd('day', -1, 'days.day') }} as date)
  )
{% endtest %}
