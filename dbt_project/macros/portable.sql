{# Cross-database helpers for what dbt's own macros do not cover (DuckDB default, PostgreSQL target). #}

{# The text value of a top-level key of a JSON column. #}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text', 'patronage')(column, key)) }}
{%- endmacro %}
{% macro default__json_text(column, key) -%}
    ({{ column }}::json ->> '{{ key }}')
{%- endmacro %}
{% macro duckdb__json_text(column, key) -%}
    json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}

{# The UTC calendar date of a timestamptz, whatever the session's time zone. #}
{% macro utc_date(column) -%}
    cast(({{ column }} at time zone 'UTC') as date)
{%- endmacro %}

{# A ratio as a double, null when the denominator is 0. #}
{% macro ratio(numerator, denominator) -%}
    (cast({{ numerator }} as double precision) / nullif({{ denominator }}, 0))
{%- endmacro %}
