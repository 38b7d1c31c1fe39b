{# Every date from `first_day` to `last_day` (SQL expressions), as column `calendar_day`; portable. #}
{% macro calendar_days(first_day, last_day) %}
    with recursive spine (calendar_day) as (
        select cast({{ first_day }} as date)
        union all
        select cast({{ dbt.dateadd('day', 1, 'calendar_day') }} as date)
        from spine
        where calendar_day < cast({{ last_day }} as date)
    )
    select calendar_day from spine where calendar_day is not null
{% endmacro %}
