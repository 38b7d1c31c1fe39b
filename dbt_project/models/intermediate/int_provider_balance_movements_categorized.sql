-- One row per journal entry that moved provider_balance: its day, currency, reporting category, the provider
-- object it answers for, and what it moved, split into gross (the business entries) and fee (provider_fee
-- entries, which take the category of the balance transaction whose fee they book).
with lines as (
    select * from {{ ref('stg_journal_lines') }}
    where account_code = 'provider_balance'
),

categories as (
    select * from {{ ref('journal_entry_categories') }}
),

categorized as (
    select
        lines.entry_id,
        lines.entry_type,
        lines.recon_date,
        lines.currency,
        coalesce(lines.fee_category, categories.category) as category,
        lines.provider_object_id,
        lines.provider_transaction_id,
        lines.amount_minor
    from lines
    left join categories on categories.entry_type = lines.entry_type
),

final as (
    select
        entry_id,
        recon_date,
        currency,
        category,
        provider_object_id,
        provider_transaction_id,
        cast(sum(amount_minor) as bigint) as amount_minor,
        cast(sum(case when entry_type = 'provider_fee' then 0 else amount_minor end) as bigint) as gross_minor,
        -- A fee leaves the balance (a credit of provider_balance): as the provider writes it, a positive fee.
        cast(sum(case when entry_type = 'provider_fee' then -amount_minor else 0 end) as bigint) as fee_minor
    from categorized
    group by entry_id, recon_date, currency, category, provider_object_id, provider_transaction_id
)

select * from final
