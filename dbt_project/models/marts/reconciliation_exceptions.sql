-- One row per unexplained item: a provider transaction whose object no journal entry answers for
-- (missing_in_journal), or a journal entry no provider transaction answers for (missing_in_provider).
with journal as (
    select * from {{ ref('int_provider_balance_movements_categorized') }}
),

provider as (
    select * from {{ ref('stg_provider_balance_transactions') }}
    where category in (select category from {{ ref('journal_entry_categories') }})
),

provider_only as (
    select
        'missing_in_journal' as exception_type,
        provider.recon_date,
        provider.currency,
        provider.category,
        provider.transaction_id as provider_transaction_id,
        cast(null as varchar(64)) as journal_entry_id,
        provider.provider_object_id,
        provider.amount_minor
    from provider
    where not exists (
        select 1 from journal
        where journal.provider_object_id = provider.provider_object_id
          and journal.category = provider.category
    )
),

journal_only as (
    select
        'missing_in_provider' as exception_type,
        journal.recon_date,
        journal.currency,
        journal.category,
        cast(null as varchar(255)) as provider_transaction_id,
        journal.entry_id as journal_entry_id,
        journal.provider_object_id,
        journal.amount_minor
    from journal
    where not exists (
        select 1 from provider
        where provider.provider_object_id = journal.provider_object_id
          and provider.category = journal.category
    )
),

final as (
    select * from provider_only
    union all
    select * from journal_only
)

select * from final
