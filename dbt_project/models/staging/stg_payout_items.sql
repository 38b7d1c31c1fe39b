-- One row per (payout, support): what the payout carries for the support.
with source as (
    select * from {{ source('finance', 'payout_items') }}
),

renamed as (
    select
        payout_id,
        support_id,
        cast(amount_minor as bigint) as settled_minor
    from source
)

select * from renamed
