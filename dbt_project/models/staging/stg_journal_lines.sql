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
        amount_minor,
        support_id,
        dispute_id,
        payout_id,
        provider_object_id
    from source
)

select * from renamed
