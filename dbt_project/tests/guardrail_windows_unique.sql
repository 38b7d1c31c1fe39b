-- int_guardrail_windows_computed has one row per (project_id, evaluated_on).
select project_id, evaluated_on, count(*) as rows_per_key
from {{ ref('int_guardrail_windows_computed') }}
group by project_id, evaluated_on
having count(*) > 1
