{# Fails on each row whose value exceeds the previous row's within its group (ordered by `order_by`). #}
{% test non_increasing(model, column_name, group_by, order_by) %}
with ordered as (
    select
        {{ group_by | join(', ') }},
        {{ order_by }} as ordinal,
        {{ column_name }} as value,
        lag({{ column_name }}) over (partition by {{ group_by | join(', ') }} order by {{ order_by }}) as previous_value
    from {{ model }}
)

select *
from ordered
where value > previous_value
{% endtest %}
