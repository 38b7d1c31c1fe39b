-- Each level of bitrate_guardrail_state serves its own top rendition.
select *
from {{ ref('bitrate_guardrail_state') }}
where max_rendition <> {{ guardrail_level_attribute(guardrail_level_of('level', 'name'), 'max_rendition') }}
