-- One row per (balance_date, currency): the provider balance rolled forward on both sides, the journal's
-- provider_balance account and the provider's balance transactions:
-- opening + charges + refunds + disputes + dispute reversals + fees (+ other) + payouts = closing.
{% set categories = ['charge', 'refund', 'dispute', 'dispute_reversal', 'payout'] %}
with journal as (
    select
        recon_date as balance_date,
        currency,
        {% for category in categories %}
        sum(case when category = '{{ category }}' then gross_minor else 0 end) as {{ category }}_minor,
        {% endfor %}
        -sum(fee_minor) as fee_minor,
        sum(amount_minor) as movement_minor
    from {{ ref('int_provider_balance_movements_categorized') }}
    group by recon_date, currency
),

provider as (
    select
        recon_date as balance_date,
        currency,
        {% for category in categories %}
        sum(case when category = '{{ category }}' then amount_minor else 0 end) as {{ category }}_minor,
        {% endfor %}
        sum(
            case when category in ('{{ categories | join("', '") }}') then 0 else amount_minor end
        ) as other_minor,
        -sum(fee_minor) as fee_minor,
        sum(net_minor) as movement_minor
    from {{ ref('stg_provider_balance_transactions') }}
    group by recon_date, currency
),

active_days as (
    select balance_date, currency from journal
    union
    select balance_date, currency from provider
),

currencies as (
    select currency, min(balance_date) as first_day
    from active_days
    group by currency
),

bounds as (
    select min(balance_date) as first_day, max(balance_date) as last_day from active_days
),

days as (
    {{ calendar_days('(select first_day from bounds)', '(select last_day from bounds)') }}
),

daily as (
    select
        days.calendar_day as balance_date,
        currencies.currency,
        {% for category in categories %}
        cast(coalesce(journal.{{ category }}_minor, 0) as bigint) as journal_{{ category }}_minor,
        {% endfor %}
        cast(coalesce(journal.fee_minor, 0) as bigint) as journal_fee_minor,
        cast(coalesce(journal.movement_minor, 0) as bigint) as journal_movement_minor,
        {% for category in categories %}
        cast(coalesce(provider.{{ category }}_minor, 0) as bigint) as provider_{{ category }}_minor,
        {% endfor %}
        cast(coalesce(provider.other_minor, 0) as bigint) as provider_other_minor,
        cast(coalesce(provider.fee_minor, 0) as bigint) as provider_fee_minor,
        cast(coalesce(provider.movement_minor, 0) as bigint) as provider_movement_minor
    from days
    join currencies on days.calendar_day >= currencies.first_day
    left join journal on journal.balance_date = days.calendar_day and journal.currency = currencies.currency
    left join provider on provider.balance_date = days.calendar_day and provider.currency = currencies.currency
),

rolled as (
    select
        daily.*,
        cast(sum(journal_movement_minor) over (
            partition by currency order by balance_date rows between unbounded preceding and current row
        ) as bigint) as journal_closing_minor,
        cast(sum(provider_movement_minor) over (
            partition by currency order by balance_date rows between unbounded preceding and current row
        ) as bigint) as provider_closing_minor
    from daily
),

final as (
    select
        balance_date,
        currency,
        journal_closing_minor - journal_movement_minor as journal_opening_minor,
        journal_charge_minor,
        journal_refund_minor,
        journal_dispute_minor,
        journal_dispute_reversal_minor,
        journal_fee_minor,
        journal_payout_minor,
        journal_closing_minor,
        provider_closing_minor - provider_movement_minor as provider_opening_minor,
        provider_charge_minor,
        provider_refund_minor,
        provider_dispute_minor,
        provider_dispute_reversal_minor,
        provider_fee_minor,
        provider_other_minor,
        provider_payout_minor,
        provider_closing_minor,
        journal_closing_minor - provider_closing_minor as closing_difference_minor,
        case when journal_closing_minor = provider_closing_minor then 'matched' else 'mismatch' end as status
    from rolled
)

select * from final
