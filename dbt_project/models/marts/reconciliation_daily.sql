-- One row per (recon_date, currency, category): the journal's net movement of provider_balance against
-- the provider's balance transactions of that reporting category (analytics.md "Reconciliation").
with journal as (
    select recon_date, currency, category, sum(amount_minor) as journal_minor
    from {{ ref('int_provider_balance_movements_categorized') }}
    group by recon_date, currency, category
),

provider as (
    select recon_date, currency, category, sum(amount_minor) as provider_minor
    from {{ ref('stg_provider_balance_transactions') }}
    where category in (select category from {{ ref('journal_entry_categories') }})
    group by recon_date, currency, category
),

compared as (
    select
        coalesce(journal.recon_date, provider.recon_date) as recon_date,
        coalesce(journal.currency, provider.currency) as currency,
        coalesce(journal.category, provider.category) as category,
        journal.journal_minor,
        provider.provider_minor
    from journal
    full outer join provider
        on provider.recon_date = journal.recon_date
        and provider.currency = journal.currency
        and provider.category = journal.category
),

final as (
    select
        recon_date,
        currency,
        category,
        coalesce(journal_minor, 0) as journal_minor,
        coalesce(provider_minor, 0) as provider_minor,
        coalesce(journal_minor, 0) - coalesce(provider_minor, 0) as difference_minor,
        case
            when provider_minor is null then 'missing_in_provider'
            when journal_minor is null then 'missing_in_journal'
            when journal_minor = provider_minor then 'matched'
            else 'mismatch'
        end as status
    from compared
)

select * from final
