-- One row per journal line, typed, with the UTC day its entry occurred.
with source as (
    select * from {{ source('finance', 'journal_lines') }}
),

renamed as (
    select
        line_id,
        entry_id,
        entry_type,
        occurred_at,
        {{ utc_date('occurred_at') }} as recon_date,
        account_code,
        project_id,
        currency,
        cast(amount_minor as bigint) as amount_minor,
        support_id,
        dispute_id,
        payout_id,
        provider_object_id,
        provider_transaction_id,
        reporting_category as fee_category
    from source
)

select * from renamed
