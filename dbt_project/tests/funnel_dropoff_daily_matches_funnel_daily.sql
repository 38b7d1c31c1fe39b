-- Each drop-off row's entered/converted are funnel_daily's users at the from step and the next step,
-- and every funnel_daily step below 5 has its drop-off row.
with funnel as (
    select event_date, platform, step_index, users from {{ ref('funnel_daily') }}
),

dropoff as (
    select event_date, platform, from_step_index, entered, converted from {{ ref('funnel_dropoff_daily') }}
),

expected as (
    select current_step.event_date, current_step.platform, current_step.step_index as from_step_index,
        current_step.users as entered, next_step.users as converted
    from funnel as current_step
    join funnel as next_step
        on next_step.event_date = current_step.event_date
        and next_step.platform = current_step.platform
        and next_step.step_index = current_step.step_index + 1
)

select expected.*, dropoff.entered as actual_entered, dropoff.converted as actual_converted
from expected
full outer join dropoff
    on dropoff.event_date = expected.event_date
    and dropoff.platform = expected.platform
    and dropoff.from_step_index = expected.from_step_index
where expected.event_date is null
   or dropoff.event_date is null
   or dropoff.entered <> expected.entered
   or dropoff.converted <> expected.converted
