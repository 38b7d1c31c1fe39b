{# Fails on each row whose step name is not the funnel step (analytics.md, DA-002) at `step_index`
   (a column or an expression such as `from_step_index + 1`). #}
{% test named_funnel_step(model, column_name, step_index) %}
{% set steps = ['feed_impression', 'project_view', 'support_cta_tap', 'checkout_started', 'payment_succeeded'] %}
select {{ step_index }} as step_index, {{ column_name }} as step_name
from {{ model }}
where {{ column_name }} is null
   or {{ column_name }} <> case {{ step_index }}
        {% for step in steps %}when {{ loop.index }} then '{{ step }}' {% endfor %}
      end
   or {{ step_index }} not between 1 and {{ steps | length }}
{% endtest %}
