{# Fails on each row where `expression` is not true (false or null): a row-level invariant. #}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
