-- One row per (kpi_date, currency) with at least one support that day.
with supports as (
    select event_date, currency, amount_minor
    from {{ ref('stg_events') }}
    where event_name = 'payment_succeeded'
),

final as (
    select
        event_date as kpi_date,
        currency,
        count(*) as supports,
        cast(sum(amount_minor) as bigint) as gross_amount_minor,  -- sum(bigint) is HUGEINT on DuckDB, numeric on PostgreSQL
        avg(cast(amount_minor as {{ double_type() }})) as average_support_amount_minor
    from supports
    group by event_date, currency
)

select * from final
