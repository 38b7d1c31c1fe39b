-- One row per (payout, support) a payout settles, traced to the support's charge, refunds and disputes: what was
-- charged, refunded and held, what the payout carries for it, and the provider's transactions of those objects.
with items as (
    select * from {{ ref('stg_payout_items') }}
),

payouts as (
    select * from {{ ref('stg_payouts') }}
),

supports as (
    select * from {{ ref('stg_supports') }}
),

held_disputes as (
    select support_id, sum(amount_minor) as disputed_minor
    from {{ ref('stg_disputes') }}
    where status in ('open', 'lost')
    group by support_id
),

-- The provider objects of each support: its charge, and the refunds and disputes the journal booked for it.
support_objects as (
    select support_id, provider_object_id
    from {{ ref('stg_journal_lines') }}
    where support_id is not null
      and provider_object_id is not null
      and entry_type in ('support_hold', 'refund', 'dispute_open', 'dispute_close')
    union
    select support_id, charge_id as provider_object_id
    from supports
    where charge_id is not null
),

provider_by_support as (
    select
        support_objects.support_id,
        sum(transactions.amount_minor) as provider_gross_minor,
        sum(transactions.fee_minor) as provider_fee_minor,
        sum(transactions.net_minor) as provider_net_minor
    from support_objects
    join {{ ref('stg_provider_balance_transactions') }} as transactions
        on transactions.provider_object_id = support_objects.provider_object_id
    where transactions.category in ('charge', 'refund', 'dispute', 'dispute_reversal')
    group by support_objects.support_id
),

final as (
    select
        items.payout_id,
        payouts.provider_payout_id,
        payouts.project_id,
        payouts.currency,
        payouts.execution_date,
        payouts.payout_status,
        items.support_id,
        supports.charge_id,
        cast(coalesce(supports.amount_minor, 0) as bigint) as charged_minor,
        cast(coalesce(supports.refunded_minor, 0) as bigint) as refunded_minor,
        cast(coalesce(held_disputes.disputed_minor, 0) as bigint) as disputed_minor,
        items.settled_minor,
        cast(coalesce(provider_by_support.provider_gross_minor, 0) as bigint) as provider_gross_minor,
        cast(coalesce(provider_by_support.provider_fee_minor, 0) as bigint) as provider_fee_minor,
        cast(coalesce(provider_by_support.provider_net_minor, 0) as bigint) as provider_net_minor
    from items
    join payouts on payouts.payout_id = items.payout_id
    left join supports on supports.support_id = items.support_id
    left join held_disputes on held_disputes.support_id = items.support_id
    left join provider_by_support on provider_by_support.support_id = items.support_id
)

select * from final
