-- One row per dispute, typed.
with source as (
    select * from {{ source('finance', 'disputes') }}
),

renamed as (
    select
        dispute_id,
        provider_dispute_id,
        support_id,
        status,
        currency,
        cast(amount_minor as bigint) as amount_minor
    from source
)

select * from renamed
