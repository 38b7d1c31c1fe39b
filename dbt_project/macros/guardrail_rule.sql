{# Bitrate cost guardrail, rule v1 (analytics.md, DA-003): the levels and the per-day transition. #}

{# The three levels, in order. `nominal_kbps` is the top rendition's bitrate the savings estimate
   assumes (overridable with the var `guardrail_nominal_kbps`, a mapping rendition -> kbps). #}
{% macro guardrail_levels() -%}
    {%- set kbps = var('guardrail_nominal_kbps', {'1080p': 4800, '540p': 1600, '360p': 800}) -%}
    {{ return([
        {'level': 0, 'name': 'uncapped', 'action': 'lift_cap', 'max_rendition': '1080p', 'nominal_kbps': kbps['1080p']},
        {'level': 1, 'name': 'cap_540p', 'action': 'cap_540p', 'max_rendition': '540p', 'nominal_kbps': kbps['540p']},
        {'level': 2, 'name': 'cap_360p', 'action': 'cap_360p', 'max_rendition': '360p', 'nominal_kbps': kbps['360p']},
    ]) }}
{%- endmacro %}

{# `attribute` ('name', 'action', 'max_rendition', 'nominal_kbps') of the level in the SQL expression `level`. #}
{% macro guardrail_level_attribute(level, attribute) -%}
    case {{ level }}
        {%- for row in guardrail_levels() %}
        when {{ row['level'] }} then {% if row[attribute] is string %}'{{ row[attribute] }}'{% else %}{{ row[attribute] }}{% endif %}
        {%- endfor %}
    end
{%- endmacro %}

{# The level in the SQL expression `column` (holding a level's name or action) as an integer. #}
{% macro guardrail_level_of(column, attribute) -%}
    case {{ column }}
        {%- for row in guardrail_levels() %}
        when '{{ row[attribute] }}' then {{ row['level'] }}
        {%- endfor %}
    end
{%- endmacro %}

{# The target of the rule table on one day: an ineligible window (too few viewers) keeps the level. #}
{% macro guardrail_target_level(current_level, viewers, conversion_rate) -%}
    case
        when {{ viewers }} < {{ var('guardrail_min_viewers') }} or {{ conversion_rate }} is null then {{ current_level }}
        when {{ conversion_rate }} < cast({{ var('guardrail_cap_360p_below') }} as {{ double_type() }}) then 2
        when {{ conversion_rate }} < cast({{ var('guardrail_cap_540p_below') }} as {{ double_type() }}) then 1
        when {{ conversion_rate }} < cast({{ var('guardrail_hold_540p_below') }} as {{ double_type() }})
            then case when {{ current_level }} < 1 then {{ current_level }} else 1 end
        else 0
    end
{%- endmacro %}

{# Hysteresis: a higher target applies at once; a lower one only from the current cap's
   recovery_window_ends on (null before any change, when loosening cannot happen anyway). #}
{% macro guardrail_next_level(current_level, recovery_window_ends, evaluated_on, viewers, conversion_rate) -%}
    {%- set target = guardrail_target_level(current_level, viewers, conversion_rate) -%}
    case
        when {{ target }} > {{ current_level }} then {{ target }}
        when {{ evaluated_on }} >= {{ recovery_window_ends }} then {{ target }}
        else {{ current_level }}
    end
{%- endmacro %}
