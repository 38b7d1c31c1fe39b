-- One row per funnel entry: (actor, project, UTC day of the entry) with the time each step was reached.
-- t1 = earliest feed_impression of the actor on the project that day; step k (k >= 2) is reached at
-- the earliest step-k event with t(k-1) <= tk <= t1 + the window; a missed step ends the entry.
{% set window = var('funnel_window_days') %}
{% set steps = ['feed_impression', 'project_view', 'support_cta_tap', 'checkout_started', 'payment_succeeded'] %}

with events as (
    select actor_id, project_id, event_name, occurred_at, event_date, event_id, platform
    from {{ ref('int_events_stitched') }}
    where project_id is not null
      and event_name in ('{{ steps | join("', '") }}')
),

first_impressions as (
    select
        actor_id,
        project_id,
        event_date as entry_date,
        occurred_at as t1,
        platform,
        row_number() over (
            partition by actor_id, project_id, event_date order by occurred_at, event_id
        ) as impression_rank
    from events
    where event_name = 'feed_impression'
),

step_1 as (
    select actor_id, project_id, entry_date, platform, t1
    from first_impressions
    where impression_rank = 1
),

{% for k in range(2, 6) %}
step_{{ k }} as (
    select
        previous.*,
        min(later.occurred_at) as t{{ k }}
    from step_{{ k - 1 }} as previous
    left join events as later
        on later.actor_id = previous.actor_id
        and later.project_id = previous.project_id
        and later.event_name = '{{ steps[k - 1] }}'
        and later.occurred_at >= previous.t{{ k - 1 }}
        -- in hours: 'day' arithmetic on a timestamptz follows the session time zone's DST (169 h across a fall-back)
        and later.occurred_at <= {{ dbt.dateadd('hour', window * 24, 'previous.t1') }}
    group by {% for column in ['actor_id', 'project_id', 'entry_date', 'platform'] %}previous.{{ column }}, {% endfor %}
        {%- for j in range(1, k) %} previous.t{{ j }}{{ ", " if not loop.last }}{% endfor %}
),
{% endfor %}

final as (
    select * from step_5
)

select * from final
