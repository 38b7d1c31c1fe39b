-- bitrate_guardrail_actions has at most one level change per (project_id, decided_on).
select project_id, decided_on, count(*) as rows_per_key
from {{ ref('bitrate_guardrail_actions') }}
group by project_id, decided_on
having count(*) > 1
