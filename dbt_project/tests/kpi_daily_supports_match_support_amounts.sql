-- A day's supports in kpi_daily equal the sum over currencies in kpi_support_amount_daily.
with amounts as (
    select kpi_date, sum(supports) as supports
    from {{ ref('kpi_support_amount_daily') }}
    group by kpi_date
)

select kpi_daily.kpi_date, kpi_daily.supports, amounts.supports as supports_in_currencies
from {{ ref('kpi_daily') }} as kpi_daily
left join amounts on amounts.kpi_date = kpi_daily.kpi_date
where kpi_daily.supports <> coalesce(amounts.supports, 0)
