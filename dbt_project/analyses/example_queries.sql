-- The README's example queries ("For analysts"), run on DuckDB and PostgreSQL by tests/analytics/test_marts_catalog.py.

-- 1. The last seven days of KPIs: distinct viewers and supporters, payments, conversion (a fraction).
select kpi_date, viewers, supporters, supports, support_conversion_rate
from marts.kpi_daily
order by kpi_date desc
limit 7;

-- 2. The funnel per platform over every day: distinct actors reaching each step.
select platform, step_index, step_name, sum(users) as users
from marts.funnel_daily
group by platform, step_index, step_name
order by platform, step_index;

-- 3. Why a day does not reconcile: each unmatched (day, currency, category) with its items, in minor units.
select d.recon_date, d.currency, d.category, d.status, e.exception_type, e.provider_object_id,
       e.amount_minor, e.fee_minor
from marts.reconciliation_daily as d
join marts.reconciliation_exceptions as e
  on e.recon_date = d.recon_date and e.currency = d.currency and e.category = d.category
where d.status <> 'matched'
order by d.recon_date, d.currency, d.category, e.exception_type, e.provider_object_id;
