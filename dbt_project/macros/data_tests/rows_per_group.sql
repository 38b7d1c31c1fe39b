{# Fails on each group (by `group_by`) that does not have exactly `expected_rows` rows. #}
{% test rows_per_group(model, group_by, expected_rows) %}
select {{ group_by | join(', ') }}, count(*) as row_count
from {{ model }}
group by {{ group_by | join(', ') }}
having count(*) <> {{ expected_rows }}
{% endtest %}
