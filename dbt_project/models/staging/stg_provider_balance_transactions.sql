-- One row per provider balance transaction, typed, with its UTC day.
with source as (
    select * from {{ source('finance', 'provider_balance_transactions') }}
),

renamed as (
    select
        transaction_id,
        amount_minor,
        upper(currency) as currency,
        reporting_category as category,
        nullif(source, '') as provider_object_id,
        created,
        {{ utc_date('created') }} as recon_date,
        provider_source
    from source
)

select * from renamed
