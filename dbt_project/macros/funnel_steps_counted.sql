{# CTE `steps`: the five step rows per group of funnel entries, with conversions; shared by the funnel marts.
   Expects a CTE `entries` (int_funnel_entries_evaluated) before it; `group_columns` start with entry_date. #}
{% macro funnel_steps_counted(group_columns) %}
{% set steps = ['feed_impression', 'project_view', 'support_cta_tap', 'checkout_started', 'payment_succeeded'] %}
{% set others = group_columns[1:] %}
reached as (
    select
        {{ group_columns | join(', ') }},
        {% for k in range(1, 6) %}
        count(distinct case when t{{ k }} is not null then actor_id end) as users_{{ k }}{{ "," if not loop.last }}
        {% endfor %}
    from entries
    group by {{ group_columns | join(', ') }}
),

steps as (
    {% for k in range(1, 6) %}
    select
        entry_date as event_date,
        {% for column in others %}{{ column }}, {% endfor %}
        cast({{ k }} as bigint) as step_index,
        '{{ steps[k - 1] }}' as step_name,
        users_{{ k }} as users,
        {% if k == 1 %}cast(1.0 as {{ double_type() }}){% else %}{{ ratio('users_' ~ k, 'users_' ~ (k - 1)) }}{% endif %} as conversion_from_previous,
        {{ ratio('users_' ~ k, 'users_1') }} as conversion_from_start
    from reached
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)
{% endmacro %}
