-- One row per guardrail level change (rule v1): int_guardrail_actions_decided, published as a mart.
with actions as (
    select * from {{ ref('int_guardrail_actions_decided') }}
),

final as (
    select * from actions
)

select * from final
