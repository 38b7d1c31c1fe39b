-- One row per unexplained item: a provider transaction whose object no journal entry answers for
-- (missing_in_journal), a journal entry no provider transaction answers for (missing_in_provider), or a
-- provider transaction both sides know whose fee the journal booked otherwise, or not yet (fee_mismatch).
with journal as (
    select * from {{ ref('int_provider_balance_movements_categorized') }}
),

provider as (
    select * from {{ ref('stg_provider_balance_transactions') }}
    where category in (select category from {{ ref('journal_entry_categories') }})
),

booked_fees as (
    select provider_transaction_id, min(entry_id) as entry_id, sum(fee_minor) as fee_minor
    from journal
    where provider_transaction_id is not null
    group by provider_transaction_id
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
        provider.amount_minor,
        provider.fee_minor,
        provider.net_minor,
        cast(null as bigint) as journal_fee_minor
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
        journal.gross_minor as amount_minor,
        journal.fee_minor,
        journal.amount_minor as net_minor,
        cast(null as bigint) as journal_fee_minor
    from journal
    where not exists (
        select 1 from provider
        where provider.provider_object_id = journal.provider_object_id
          and provider.category = journal.category
    )
),

fee_mismatches as (
    select
        'fee_mismatch' as exception_type,
        provider.recon_date,
        provider.currency,
        provider.category,
        provider.transaction_id as provider_transaction_id,
        booked_fees.entry_id as journal_entry_id,
        provider.provider_object_id,
        provider.amount_minor,
        provider.fee_minor,
        provider.net_minor,
        cast(coalesce(booked_fees.fee_minor, 0) as bigint) as journal_fee_minor
    from provider
    left join booked_fees on booked_fees.provider_transaction_id = provider.transaction_id
    where coalesce(booked_fees.fee_minor, 0) <> provider.fee_minor
      and exists (
        select 1 from journal
        where journal.provider_object_id = provider.provider_object_id
          and journal.category = provider.category
    )
),

final as (
    select * from provider_only
    union all
    select * from journal_only
    union all
    select * from fee_mismatches
)

select * from final
