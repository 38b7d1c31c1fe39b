-- One row per accepted event, typed: the envelope plus the properties the marts read.
with source as (
    select * from {{ source('raw', 'events') }}
),

renamed as (
    select
        event_id,
        event_name,
        occurred_at,
        {{ utc_date('occurred_at') }} as event_date,
        received_at,
        platform,
        user_id,
        anonymous_id,
        session_id,
        project_id,
        cast({{ json_text('properties', 'amount_minor') }} as bigint) as amount_minor,
        {{ json_text('properties', 'currency') }} as currency,
        {{ json_text('properties', 'support_id') }} as support_id,
        {{ json_text('properties', 'rendition') }} as rendition,
        cast({{ json_text('properties', 'bytes_delivered') }} as bigint) as bytes_delivered,
        source as landing_source
    from source
)

select * from renamed
