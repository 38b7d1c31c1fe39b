{# Cross-database helpers for what dbt's own macros do not cover (DuckDB default, PostgreSQL and Spark targets). #}

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
{% macro spark__json_text(column, key) -%}
    get_json_object({{ column }}, '$.{{ key }}')
{%- endmacro %}

{# The UTC calendar date of a timestamptz, whatever the session's time zone. #}
{% macro utc_date(column) -%}
    {{ return(adapter.dispatch('utc_date', 'patronage')(column)) }}
{%- endmacro %}
{% macro default__utc_date(column) -%}
    cast(({{ column }} at time zone 'UTC') as date)
{%- endmacro %}
{# Spark's timestamp is an instant shown in the session's zone: shifted so that zone shows UTC's wall clock. #}
{% macro spark__utc_date(column) -%}
    cast(to_utc_timestamp({{ column }}, current_timezone()) as date)
{%- endmacro %}

{# The 64-bit floating point type (DuckDB's `float` is 32-bit; Spark has no `double precision`). #}
{% macro double_type() -%}
    {{ return(adapter.dispatch('double_type', 'patronage')()) }}
{%- endmacro %}
{% macro default__double_type() -%}
    double precision
{%- endmacro %}
{% macro spark__double_type() -%}
    double
{%- endmacro %}

{# A ratio as a double, null when the denominator is 0. #}
{% macro ratio(numerator, denominator) -%}
    (cast({{ numerator }} as {{ double_type() }}) / nullif({{ denominator }}, 0))
{%- endmacro %}

{# dbt-spark's dateadd goes through whole unix seconds and drops the fraction (t1 + 168 h missed an event at exactly
   that instant): Spark's own timestamp arithmetic keeps the microseconds. #}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{# Statistics for the planner of the models that read this table: PostgreSQL's autovacuum analyzes a new table a
   minute or so after it is made, and planned without them (14 rows guessed for 393,000) the funnel's joins on a
   1M-event build ran for over 8 minutes instead of 5 s (bench/README.md). DuckDB and Spark need nothing. #}
{% macro analyze_for_planner() -%}
    {{ return(adapter.dispatch('analyze_for_planner', 'patronage')()) }}
{%- endmacro %}
{% macro default__analyze_for_planner() -%}{%- endmacro %}
{% macro postgres__analyze_for_planner() -%}
    analyze {{ this }}
{%- endmacro %}
