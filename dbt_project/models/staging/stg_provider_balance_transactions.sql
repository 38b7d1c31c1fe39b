-- One row per provider balance transaction, typed, with its UTC day: gross, fee and net in minor units.
with source as (
    select * from {{ source('finance', 'provider_balance_transactions') }}
),

renamed as (
    select
        transaction_id,
        cast(amount_minor as bigint) as amount_minor,
        cast(fee_minor as bigint) as fee_minor,
        cast(net_minor as bigint) as net_minor,
        upper(currency) as currency,
        reporting_category as category,
        transaction_type,
        nullif(source, '') as provider_object_id,
        created,
        {{ utc_date('created') }} as recon_date,
        provider_source
    from source
)

select * from renamed
