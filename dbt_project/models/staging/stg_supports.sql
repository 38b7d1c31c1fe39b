-- One row per support, typed: its amount, what was refunded of it and its charge.
with source as (
    select * from {{ source('finance', 'supports') }}
),

renamed as (
    select
        support_id,
        project_id,
        status,
        currency,
        cast(amount_minor as bigint) as amount_minor,
        cast(coalesce(refunded_minor, 0) as bigint) as refunded_minor,
        payment_intent_id,
        charge_id,
        succeeded_at
    from source
)

select * from renamed
