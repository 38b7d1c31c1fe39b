-- One row per (recon_date, currency, category): the journal's movement of provider_balance against the
-- provider's balance transactions of that reporting category (analytics.md "Reconciliation"), compared on the
-- gross amount, the provider's fee and the net.
with journal as (
    select
        recon_date,
        currency,
        category,
        sum(gross_minor) as journal_minor,
        sum(fee_minor) as journal_fee_minor,
        sum(amount_minor) as journal_net_minor
    from {{ ref('int_provider_balance_movements_categorized') }}
    group by recon_date, currency, category
),

provider as (
    select
        recon_date,
        currency,
        category,
        sum(amount_minor) as provider_minor,
        sum(fee_minor) as provider_fee_minor,
        sum(net_minor) as provider_net_minor
    from {{ ref('stg_provider_balance_transactions') }}
    where category in (select category from {{ ref('journal_entry_categories') }})
    group by recon_date, currency, category
),

compared as (
    select
        coalesce(journal.recon_date, provider.recon_date) as recon_date,
        coalesce(journal.currency, provider.currency) as currency,
        coalesce(journal.category, provider.category) as category,
        journal.recon_date is not null as in_journal,
        provider.recon_date is not null as in_provider,
        cast(coalesce(journal.journal_minor, 0) as bigint) as journal_minor,
        cast(coalesce(provider.provider_minor, 0) as bigint) as provider_minor,
        cast(coalesce(journal.journal_fee_minor, 0) as bigint) as journal_fee_minor,
        cast(coalesce(provider.provider_fee_minor, 0) as bigint) as provider_fee_minor,
        cast(coalesce(journal.journal_net_minor, 0) as bigint) as journal_net_minor,
        cast(coalesce(provider.provider_net_minor, 0) as bigint) as provider_net_minor
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
        journal_minor,
        provider_minor,
        journal_minor - provider_minor as difference_minor,
        journal_fee_minor,
        provider_fee_minor,
        journal_fee_minor - provider_fee_minor as fee_difference_minor,
        journal_net_minor,
        provider_net_minor,
        journal_net_minor - provider_net_minor as net_difference_minor,
        case
            when not in_provider then 'missing_in_provider'
            when not in_journal then 'missing_in_journal'
            when journal_minor = provider_minor and journal_fee_minor = provider_fee_minor then 'matched'
            else 'mismatch'
        end as status
    from compared
)

select * from final
