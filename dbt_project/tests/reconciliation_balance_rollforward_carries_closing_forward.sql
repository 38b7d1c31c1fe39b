-- Fails on each (balance_date, currency) of reconciliation_balance_rollforward whose opening balances are not the
-- previous day's closing balances, or whose previous day is missing after the currency's first day.
with days as (
    select * from {{ ref('reconciliation_balance_rollforward') }}
),

first_days as (
    select currency, min(balance_date) as first_day from days group by currency
)

select days.balance_date, days.currency
from days
join first_days on first_days.currency = days.currency
left join days as previous_day
    on previous_day.currency = days.currency
    and previous_day.balance_date = cast({{ dbt.dateadd('day', -1, 'days.balance_date') }} as date)
where (days.balance_date = first_days.first_day and (days.journal_opening_minor <> 0 or days.provider_opening_minor <> 0))
   or (days.balance_date > first_days.first_day and (
        previous_day.balance_date is null
        or days.journal_opening_minor <> previous_day.journal_closing_minor
        or days.provider_opening_minor <> previous_day.provider_closing_minor
   ))
