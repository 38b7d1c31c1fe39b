{# Every date from `first_day` to `last_day` (SQL expressions), as column `calendar_day`; portable. #}
{% macro calendar_days(first_day, last_day) %}
    {{ return(adapter.dispatch('calendar_days', 'patronage')(first_day, last_day)) }}
{% endmacro %}
{% macro default__calendar_days(first_day, last_day) %}
    with recursive spine (calendar_day) as (
        select cast({{ first_day }} as date)
        union all
        select cast({{ dbt.dateadd('day', 1, 'calendar_day') }} as date)
        from spine
        where calendar_day < cast({{ last_day }} as date)
    )
    select calendar_day from spine where calendar_day is not null
{% endmacro %}
{# Spark runs a recursive CTE one job per step, each evaluating the bounds again (54 s for a month): a sequence. #}
{% macro spark__calendar_days(first_day, last_day) %}
    select calendar_day
    from (
        -- the recursion's rows: the first day alone when the last is earlier or null
        select explode(sequence(
            cast({{ first_day }} as date),
            greatest(cast({{ first_day }} as date), cast({{ last_day }} as date)),
            interval 1 day
        )) as calendar_day
    ) as spine
    where calendar_day is not null
{% endmacro %}
