-- One row per project payout: the supports it settles and their sum, what was sent, and the payout as the journal
-- (payout_release) and the provider (its payout balance transaction) record it.
with payouts as (
    select * from {{ ref('stg_payouts') }}
),

items as (
    select
        payout_id,
        count(*) as supports,
        sum(charged_minor) as charged_minor,
        sum(refunded_minor) as refunded_minor,
        sum(disputed_minor) as disputed_minor,
        sum(settled_minor) as settled_minor,
        sum(provider_fee_minor) as provider_fee_minor
    from {{ ref('int_payout_items_traced') }}
    group by payout_id
),

journal as (
    select payout_id, -sum(amount_minor) as journal_payout_minor
    from {{ ref('stg_journal_lines') }}
    where entry_type = 'payout_release' and account_code = 'provider_balance'
    group by payout_id
),

provider as (
    select provider_object_id, -sum(amount_minor) as provider_payout_minor
    from {{ ref('stg_provider_balance_transactions') }}
    where category = 'payout'
    group by provider_object_id
),

compared as (
    select
        payouts.payout_id,
        payouts.provider_payout_id,
        payouts.project_id,
        payouts.currency,
        payouts.execution_date,
        payouts.released_on,
        payouts.payout_status,
        cast(coalesce(items.supports, 0) as bigint) as supports,
        cast(coalesce(items.charged_minor, 0) as bigint) as charged_minor,
        cast(coalesce(items.refunded_minor, 0) as bigint) as refunded_minor,
        cast(coalesce(items.disputed_minor, 0) as bigint) as disputed_minor,
        cast(coalesce(items.settled_minor, 0) as bigint) as settled_minor,
        payouts.withheld_minor,
        -- A scheduled payout's amount is its items' until the release freezes (and caps) it.
        cast(
            case when payouts.payout_status = 'scheduled' then coalesce(items.settled_minor, 0) else payouts.amount_minor end
            as bigint
        ) as amount_minor,
        cast(coalesce(items.provider_fee_minor, 0) as bigint) as provider_fee_minor,
        journal.payout_id is not null as in_journal,
        provider.provider_object_id is not null as in_provider,
        cast(coalesce(journal.journal_payout_minor, 0) as bigint) as journal_payout_minor,
        cast(coalesce(provider.provider_payout_minor, 0) as bigint) as provider_payout_minor
    from payouts
    left join items on items.payout_id = payouts.payout_id
    left join journal on journal.payout_id = payouts.payout_id
    left join provider on provider.provider_object_id = payouts.provider_payout_id
),

final as (
    select
        payout_id,
        provider_payout_id,
        project_id,
        currency,
        execution_date,
        released_on,
        payout_status,
        supports,
        charged_minor,
        refunded_minor,
        disputed_minor,
        settled_minor,
        withheld_minor,
        amount_minor,
        provider_fee_minor,
        journal_payout_minor,
        provider_payout_minor,
        journal_payout_minor - provider_payout_minor as difference_minor,
        case
            when payout_status = 'scheduled' then 'not_released'
            when not in_journal and not in_provider then case when amount_minor = 0 then 'matched' else 'mismatch' end
            when not in_provider then 'missing_in_provider'
            when not in_journal then 'missing_in_journal'
            when journal_payout_minor = provider_payout_minor and journal_payout_minor = amount_minor then 'matched'
            else 'mismatch'
        end as status
    from compared
    where payout_status <> 'scheduled' or supports > 0  -- as the API lists them: an emptied schedule is no payout
)

select * from final
