-- One row per journal entry that moved provider_balance: its day, currency, reporting category, net
-- amount and the provider object (charge, refund, dispute, payout) it answers for.
with lines as (
    select * from {{ ref('stg_journal_lines') }}
    where account_code = 'provider_balance'
),

categories as (
    select * from {{ ref('journal_entry_categories') }}
),

final as (
    select
        lines.entry_id,
        lines.recon_date,
        lines.currency,
        categories.category,
        lines.provider_object_id,
        sum(lines.amount_minor) as amount_minor
    from lines
    join categories on categories.entry_type = lines.entry_type
    group by lines.entry_id, lines.recon_date, lines.currency, categories.category, lines.provider_object_id
)

select * from final
