-- One row per project payout, typed, with the UTC day it was released.
with source as (
    select * from {{ source('finance', 'payouts') }}
),

renamed as (
    select
        payout_id,
        project_id,
        currency,
        cast(execution_date as date) as execution_date,
        status as payout_status,
        cast(amount_minor as bigint) as amount_minor,
        cast(withheld_minor as bigint) as withheld_minor,
        nullif(provider_payout_id, '') as provider_payout_id,
        released_at,
        {{ utc_date('released_at') }} as released_on
    from source
)

select * from renamed
