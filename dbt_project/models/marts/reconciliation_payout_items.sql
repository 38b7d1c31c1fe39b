-- One row per (payout, support) a payout settles: the itemized payout reconciliation.
with items as (
    select * from {{ ref('int_payout_items_traced') }}
),

final as (
    select
        payout_id,
        provider_payout_id,
        project_id,
        currency,
        execution_date,
        payout_status,
        support_id,
        charge_id,
        charged_minor,
        refunded_minor,
        disputed_minor,
        settled_minor,
        provider_gross_minor,
        provider_fee_minor,
        provider_net_minor
    from items
)

select * from final
