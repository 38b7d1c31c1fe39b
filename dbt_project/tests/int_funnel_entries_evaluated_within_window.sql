-- No step of an entry is reached after t1 + funnel_window_days days (analytics.md, DA-002).
{% set window_end = dbt.dateadd('hour', var('funnel_window_days') * 24, 't1') %}
select *
from {{ ref('int_funnel_entries_evaluated') }}
where t2 > {{ window_end }}
   or t3 > {{ window_end }}
   or t4 > {{ window_end }}
   or t5 > {{ window_end }}
